/*
 * Unit tests for the S3 gateway's key mapping and XML helpers (s3/keymap.h, s3/xml.h).
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "keymap.h"
#include "unit.h"
#include "xml.h"

static const char *map(const char *key, bool *marker, const char **code)
{
	static struct buf p = BUF_INIT;
	*code = NULL;
	return keymap_path("", "bkt", key, &p, marker, code) ? NULL : p.data;
}

START_TEST(test_keymap_paths)
{
	bool m;
	const char *code;
	ck_assert_str_eq(map("a", &m, &code), "/bkt/a");
	ck_assert(!m);
	ck_assert_str_eq(map("a/b/c.txt", &m, &code), "/bkt/a/b/c.txt");
	ck_assert_str_eq(map("dir/", &m, &code), "/bkt/dir");
	ck_assert(m);
	ck_assert_str_eq(map("a b/ü+%", &m, &code), "/bkt/a b/ü+%");
	ck_assert_str_eq(map("...", &m, &code), "/bkt/..."); /* not a dot component */
	ck_assert_str_eq(map(".hidden/x", &m, &code), "/bkt/.hidden/x");
	struct buf p = BUF_INIT;
	ck_assert_int_eq(keymap_path("/srv", "b", "k", &p, &m, &code), 0);
	ck_assert_str_eq(p.data, "/srv/b/k");
	buf_free(&p);
}
END_TEST

START_TEST(test_keymap_refused)
{
	bool m;
	const char *code;
	const char *bad[] = {"", "/", "/a", "a//b", "a/./b", "a/../b", "..", ".", "./", "a/..",
			     ".dfs-s3-tmp.1", "x/.dfs-s3-uploads/y"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(map(bad[i], &m, &code) == NULL, "'%s' accepted", bad[i]);
		ck_assert_str_eq(code, "InvalidArgument");
	}
	char k[300];
	memset(k, 'x', 256);
	k[256] = 0;
	ck_assert_ptr_null(map(k, &m, &code));
	ck_assert_str_eq(code, "KeyTooLongError");
	k[255] = 0;
	ck_assert_ptr_nonnull(map(k, &m, &code));
	char longkey[1100];
	memset(longkey, 'a', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = 0;
	for (size_t i = 100; i < sizeof longkey - 1; i += 100)
		longkey[i] = '/';
	ck_assert_ptr_null(map(longkey, &m, &code));
	ck_assert_str_eq(code, "KeyTooLongError");
}
END_TEST

START_TEST(test_bucket_names)
{
	ck_assert(keymap_bucket_creatable("my-bucket.1"));
	ck_assert(!keymap_bucket_creatable("ab"));
	ck_assert(!keymap_bucket_creatable("Upper"));
	ck_assert(!keymap_bucket_creatable("-start"));
	ck_assert(!keymap_bucket_creatable("a..b"));
	ck_assert(!keymap_bucket_creatable("under_score"));
	ck_assert(keymap_bucket_ok("Data_2024"));
	ck_assert(!keymap_bucket_ok(".dfs-s3"));
	ck_assert(!keymap_bucket_ok("a/b"));
	ck_assert(!keymap_bucket_ok(""));
	ck_assert(keymap_is_hidden(".dfs-s3-uploads"));
	ck_assert(!keymap_is_hidden(".dfs"));
}
END_TEST

START_TEST(test_xml)
{
	struct buf b = BUF_INIT;
	xml_elem(&b, "Key", "a<b>&\"c'");
	ck_assert_str_eq(b.data, "<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>");
	const char doc[] = "<?xml version=\"1.0\"?><Delete xmlns=\"x\"><Quiet>true</Quiet>"
			   "<Object><Key>a&amp;b</Key></Object><Object><Key>c&#47;d</Key>"
			   "</Object></Delete>";
	struct xml_span in = {doc, sizeof doc - 1}, del, obj, k;
	ck_assert(xml_next(&in, "Delete", &del));
	ck_assert(xml_next(&del, "Object", &obj));
	ck_assert(xml_next(&obj, "Key", &k));
	ck_assert_int_eq(xml_unescape(&k, &b), 0);
	ck_assert_str_eq(b.data, "a&b");
	ck_assert(xml_next(&del, "Object", &obj));
	ck_assert(xml_next(&obj, "Key", &k));
	ck_assert_int_eq(xml_unescape(&k, &b), 0);
	ck_assert_str_eq(b.data, "c/d");
	ck_assert(!xml_next(&del, "Object", &obj));
	struct xml_span bad = {"<Delete><Object>", 16};
	ck_assert(!xml_next(&bad, "Object", &obj));
	struct xml_span ent = {"&bogus;", 7};
	ck_assert_int_eq(xml_unescape(&ent, &b), -EINVAL);
	buf_free(&b);
}
END_TEST

int main(void)
{
	return UNIT_MAIN("s3keymap",
			 {.name = "keymap", .tests = UNIT_TESTS(test_keymap_paths, test_keymap_refused,
								test_bucket_names)},
			 {.name = "xml", .tests = UNIT_TESTS(test_xml)});
}
