#include "cli/output/document.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/text/utf8.h"
#include "tests/testing/json.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::cli {
namespace {

using ::pyservice::testing::ParseJson;
using ::testing::HasSubstr;
using ::testing::Not;

Document Str(std::string s) { return Document::String(std::move(s)); }

TEST(DocumentTest, Json_EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(ToJson(Str("say \"hi\"\\ \n\r\t\b\f\x01\x1f\x7f")),
            R"("say \"hi\"\\ \n\r\t\b\f\u0001\u001f\u007f")");
}

TEST(DocumentTest, Json_KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(ToJson(Str("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\x8D")),
            "\"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x90\x8D\"");
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // UTF-16 surrogate: none is UTF-8.
  EXPECT_EQ(ToJson(Str("a\x80z")), R"("a\ufffdz")");
  EXPECT_EQ(ToJson(Str("\xE2\x9C")), R"("\ufffd\ufffd")");
  EXPECT_EQ(ToJson(Str("\xC0\xAF")), R"("\ufffd\ufffd")");
  EXPECT_EQ(ToJson(Str("\xED\xA0\x80")), R"("\ufffd\ufffd\ufffd")");
}

TEST(DocumentTest, Json_EscapesJavaScriptLineSeparators) {
  EXPECT_EQ(ToJson(Str("a\xE2\x80\xA8" "b\xE2\x80\xA9")),
            R"("a\u2028b\u2029")");
}

TEST(DocumentTest, Json_ScalarsAndEmptyContainers) {
  EXPECT_EQ(ToJson(Document()), "null");
  EXPECT_EQ(ToJson(Document::Bool(true)), "true");
  EXPECT_EQ(ToJson(Document::Bool(false)), "false");
  EXPECT_EQ(ToJson(Document::Int(-42)), "-42");
  EXPECT_EQ(ToJson(Document::Int(4294967295)), "4294967295");
  EXPECT_EQ(ToJson(Document::List()), "[]");
  EXPECT_EQ(ToJson(Document::Map()), "{}");
}

TEST(DocumentTest, Json_PrettyPrintsInInsertionOrder) {
  const Document document =
      Document::List().Append(Document::Map()
                                  .Set("name", Str("hello"))
                                  .Set("revision", Document::Int(2))
                                  .Set("labels", Document::Map())
                                  .Set("tags", Document::List()
                                                   .Append(Str("v1"))
                                                   .Append(Str("v2"))));
  EXPECT_EQ(ToJson(document), R"([
  {
    "name": "hello",
    "revision": 2,
    "labels": {},
    "tags": [
      "v1",
      "v2"
    ]
  }
])");
  EXPECT_EQ(ToCompactJson(document),
            R"([{"name":"hello","revision":2,"labels":{},"tags":["v1","v2"]}])");
}

TEST(DocumentTest, Json_ParsesBackToTheSameValues) {
  const std::string tricky = "q\"b\\s/\n\t\x01 \xC3\xA9 \xE2\x80\xA8";
  const Document document = Document::Map()
                                .Set(tricky, Str(tricky))
                                .Set("n", Document::Int(7))
                                .Set("b", Document::Bool(true))
                                .Set("z", Document());
  for (const std::string& text : {ToJson(document), ToCompactJson(document)}) {
    absl::StatusOr<pyservice::testing::JsonValue> parsed = ParseJson(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const auto& fields = parsed->struct_value().fields();
    ASSERT_EQ(fields.count(tricky), 1u) << text;
    EXPECT_EQ(fields.at(tricky).string_value(), tricky);
    EXPECT_EQ(fields.at("n").number_value(), 7);
    EXPECT_TRUE(fields.at("b").bool_value());
    EXPECT_TRUE(fields.at("z").has_null_value());
  }
}

TEST(DocumentTest, Set_ReplacesAnExistingKeyInPlace) {
  Document document = Document::Map()
                          .Set("a", Document::Int(1))
                          .Set("b", Document::Int(2))
                          .Set("a", Document::Int(3));
  EXPECT_EQ(ToCompactJson(document), R"({"a":3,"b":2})");
  ASSERT_NE(document.Find("b"), nullptr);
  EXPECT_EQ(document.Find("b")->int_value(), 2);
  EXPECT_EQ(document.Find("c"), nullptr);
}

TEST(DocumentTest, NullBecomesWhatItIsUsedAs) {
  Document list;
  list.Append(Document::Int(1));
  EXPECT_EQ(list.kind(), Document::Kind::kList);
  Document map;
  map.Set("k", Document::Int(1));
  EXPECT_EQ(map.kind(), Document::Kind::kMap);
}

TEST(DocumentTest, Yaml_BlockStyleInInsertionOrder) {
  const Document document =
      Document::List().Append(Document::Map()
                                  .Set("name", Str("hello"))
                                  .Set("revision", Document::Int(2))
                                  .Set("changed", Document::Bool(false))
                                  .Set("rollout", Document())
                                  .Set("labels", Document::Map())
                                  .Set("hosts", Document::List()));
  EXPECT_EQ(ToYaml(document), R"(- name: hello
  revision: 2
  changed: false
  rollout: ~
  labels: {}
  hosts: [])");
}

TEST(DocumentTest, Yaml_QuotesStringsThatWouldReadAsOtherTypes) {
  for (const std::string text :
       {"", "1", "1.0", "-3", "0x1F", "1e3", "true", "False", "yes", "NO",
        "on", "null", "~", ".inf", ".NaN", "2024-05-01T10:00:00Z", "12:30"}) {
    const std::string yaml = ToYaml(Document::Map().Set("v", Str(text)));
    EXPECT_THAT(yaml, HasSubstr("v: \"")) << text;
    const YAML::Node node = YAML::Load(yaml);
    EXPECT_EQ(node["v"].as<std::string>(), text);
    EXPECT_EQ(node["v"].Tag(), "!") << "quoted scalars are tagged '!': "
                                    << yaml;
  }
  for (const std::string text : {"v1", "hello", "10s", "sha256:abc", "25%"}) {
    EXPECT_EQ(ToYaml(Document::Map().Set("v", Str(text))), "v: " + text);
  }
}

TEST(DocumentTest, Yaml_NewlineTerminatedTextIsALiteralBlock) {
  const std::string spec = "name: hello\nservices:\n  - name: web\n";
  const std::string yaml = ToYaml(Document::Map()
                                      .Set("canonical_yaml", Str(spec))
                                      .Set("after", Document::Int(1)));
  EXPECT_EQ(yaml, R"(canonical_yaml: |
  name: hello
  services:
    - name: web
after: 1)");
  EXPECT_EQ(YAML::Load(yaml)["canonical_yaml"].as<std::string>(), spec);
}

TEST(DocumentTest, Yaml_OtherMultilineAndOddTextRoundTrips) {
  for (const std::string text :
       {"no final newline\nhere", "two final newlines\n\n", " leading space\n",
        "tab\tand \x01 control\n", "trailing space \nx\n", "- dash", "a: b",
        "# hash", "'single'", "\"double\"", "caf\xC3\xA9"}) {
    const std::string yaml = ToYaml(Document::List().Append(Str(text)));
    const YAML::Node node = YAML::Load(yaml);
    ASSERT_TRUE(node.IsSequence()) << yaml;
    EXPECT_EQ(node[0].as<std::string>(), text) << yaml;
  }
}

TEST(DocumentTest, Yaml_InvalidUtf8IsReplaced) {
  EXPECT_THAT(ToYaml(Str("a\xFFz")), Not(HasSubstr("\xFF")));
  EXPECT_EQ(text::ToValidUtf8("a\xFFz\xC3\xA9"), "a\xEF\xBF\xBDz\xC3\xA9");
}

}  // namespace
}  // namespace pyservice::cli
