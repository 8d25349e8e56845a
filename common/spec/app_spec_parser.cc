#include "common/spec/app_spec_parser.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/spec/calendar.h"
#include "common/spec/config_yaml.h"
#include "common/spec/spec_policy.h"
#include "common/spec/template.h"
#include "common/spec/unclosed_construct.h"
#include "common/spec/validators.h"
#include "common/spec/yaml_reader.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {
namespace {

struct BadCharacter {
  YAML::Mark mark;
  std::string message;
};

// The first character a YAML stream may not contain: bytes that are not
// UTF-8 (RFC 3629: no overlong forms, no surrogates) and characters outside
// YAML's printable set (YAML 1.2 §5.1: controls other than tab, LF and CR,
// DEL, C1 controls but NEL, U+FFFE and U+FFFF). yaml-cpp checks neither: it
// drops a raw NUL without a word and passes invalid UTF-8 into the spec,
// whose proto3 strings protobuf then refuses to parse back.
std::optional<BadCharacter> FirstBadCharacter(absl::string_view text) {
  YAML::Mark mark;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    // Sequence length, and the range its second byte must be in.
    size_t length = 1;
    unsigned char low = 0x80, high = 0xBF;
    uint32_t code = lead;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code = lead & 0x0F;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code = lead & 0x07;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // beyond U+10FFFF
    } else if (lead >= 0x80) {
      length = 0;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      valid = k == 1 ? next >= low && next <= high : next >= 0x80 && next <= 0xBF;
      code = (code << 6) | (next & 0x3F);
    }
    if (!valid) {
      return BadCharacter{mark, absl::StrCat("byte 0x", absl::Hex(lead, absl::kZeroPad2),
                                             " is not valid UTF-8; app.yaml must be UTF-8 text")};
    }
    const bool printable = code == 0x09 || code == 0x0A || code == 0x0D ||
                           (code >= 0x20 && code <= 0x7E) || code == 0x85 ||
                           (code >= 0xA0 && code <= 0xD7FF) || (code >= 0xE000 && code <= 0xFFFD) ||
                           code >= 0x10000;
    if (!printable) {
      return BadCharacter{
          mark, absl::StrCat("character U+", absl::Hex(code, absl::kZeroPad4),
                             " is not allowed in YAML text (inside double quotes, write it as an "
                             "escape such as \\x01)")};
    }
    i += length;
    mark.pos = static_cast<int>(i);
    if (code == '\n') {
      ++mark.line;
      mark.column = 0;
    } else {
      ++mark.column;
    }
  }
  return std::nullopt;
}

// Where yaml-cpp's document loop gets stuck, if it does. yaml-cpp 0.7 (and
// Debian's) never returns from LoadAll when a stray token follows a value
// ("{name: x},", "\"a\","): the parser reports one empty document after
// another at the same token without consuming it, and LoadAll collects them
// until memory runs out (yaml-cpp issue #1040, fixed upstream by PR #1319).
// This pass runs the same parser without building nodes and stops at the
// first document that starts where the previous one did.
std::optional<YAML::Mark> StuckDocumentStart(const std::string& yaml) {
  class DocumentStarts : public YAML::EventHandler {
   public:
    void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

    YAML::Mark last;
  };
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentStarts starts;
  int previous = -1;
  while (parser.HandleNextDocument(starts)) {
    if (starts.last.pos == previous) return starts.last;
    previous = starts.last.pos;
  }
  return std::nullopt;
}

// `validate` for a required field, which must not be empty or blank first.
template <typename Validate>
auto Required(Validate validate) {
  return [validate](absl::string_view value) -> absl::Status {
    absl::Status given = ValidateRequired(value);
    return given.ok() ? absl::Status(validate(value)) : given;
  };
}
absl::Status AnyValue(absl::string_view) { return absl::OkStatus(); }

// The parse reads the document field by field into the spec, then fills the
// role's defaults, then checks what needs the defaults (templates, file
// destinations). Each stage records problems and carries on, so a document
// with five mistakes gets five lines, not one.
class AppSpecParser {
 public:
  // With a `policy`, a spec that parses is also checked against it.
  AppSpecParser(absl::string_view source_name, const SpecPolicy* policy)
      : reader_(source_name), policy_(policy) {}

  absl::StatusOr<v1::AppSpec> Parse(absl::string_view yaml);

 private:
  void ReadTopLevel(const YAML::Node& root);
  void ReadService(const YAML::Node& node, const std::string& field);
  void ReadTimer(const YAML::Node& node, const std::string& field);
  void ReadFile(const YAML::Node& node, const std::string& field);
  void ReadTargets(const YAML::Node& node);
  void ReadHealth(const YAML::Node& node);
  void ReadRollout(const YAML::Node& node);
  void ReadPaths(const YAML::Node& node);
  void ApplyDefaults();
  void CheckHealthGate(const YAML::Node& health);
  void CheckUnitNames();
  void CheckTemplates(const Variables& variables);
  void CheckFileDestinations(const Variables& variables);
  void CheckPolicy();
  // Where `field` was written; for a defaulted one, the value it defaults
  // from or the section it is in (a violation is always located).
  YAML::Mark Locate(std::string field) const;

  // Reads a string field (absent/null leaves `*out` untouched) and runs
  // `validate` on it. Returns whether a value was read.
  template <typename Validate>
  bool ReadString(const YAML::Node& node, const std::string& field, std::string* out,
                  Validate validate);
  bool ReadString(const YAML::Node& node, const std::string& field, std::string* out) {
    return ReadString(node, field, out, [](absl::string_view) { return absl::OkStatus(); });
  }
  void Require(const YAML::Node& map, absl::string_view key, const std::string& field);

  YamlReader reader_;
  const SpecPolicy* const policy_;
  v1::AppSpec spec_;
  std::map<std::string, YAML::Mark> marks_;  // by field, as read
  YAML::Node config_node_;
  // Where each templated value came from, to locate template problems.
  struct TemplateSite {
    YAML::Mark mark;
    std::string field;
    std::string* value;
  };
  std::vector<TemplateSite> template_sites_;
  std::vector<YAML::Mark> file_marks_;
  std::vector<YAML::Mark> unit_marks_;  // services, then timers
};

absl::StatusOr<v1::AppSpec> AppSpecParser::Parse(absl::string_view yaml) {
  if (yaml.size() > kMaxDocumentBytes) {
    reader_.Problem(YAML::Mark(), "", absl::StrCat("document is ", yaml.size(),
                                                   " bytes; the limit is ", kMaxDocumentBytes));
    return reader_.ToStatus();
  }
  if (std::optional<BadCharacter> bad = FirstBadCharacter(yaml)) {
    reader_.Problem(bad->mark, "", bad->message);
    return reader_.ToStatus();
  }
  std::vector<YAML::Node> documents;
  try {
    const std::string text(yaml);
    if (std::optional<YAML::Mark> stuck = StuckDocumentStart(text)) {
      reader_.Problem(*stuck, "",
                      absl::StrCat("YAML syntax error: unexpected \"",
                                   absl::CHexEscape(text.substr(
                                       std::min<size_t>(stuck->pos, text.size()), 1)),
                                   "\""));
      return reader_.ToStatus();
    }
    documents = YAML::LoadAll(text);
    if (std::optional<UnclosedConstruct> unclosed = FindUnclosedConstruct(yaml);
        unclosed && unclosed->quoted) {
      reader_.Problem(unclosed->mark, "",
                      absl::StrCat("YAML syntax error: ", unclosed->what,
                                   " (it runs to the end of the file)"));
      return reader_.ToStatus();
    }
  } catch (const YAML::DeepRecursion& e) {
    reader_.Problem(e.mark, "", "nested too deeply");
    return reader_.ToStatus();
  } catch (const YAML::Exception& e) {
    // yaml-cpp points where it gave up; an unterminated string or an
    // unclosed bracket is reported where it opened.
    std::optional<UnclosedConstruct> unclosed = FindUnclosedConstruct(yaml);
    if (unclosed && (e.mark.pos < 0 || unclosed->mark.pos <= e.mark.pos)) {
      reader_.Problem(unclosed->mark, "",
                      absl::StrCat("YAML syntax error: ", e.msg, " (", unclosed->what,
                                   "; the parser gave up at ", e.mark.line + 1, ":",
                                   e.mark.column + 1, ")"));
    } else {
      reader_.Problem(e.mark, "", absl::StrCat("YAML syntax error: ", e.msg));
    }
    return reader_.ToStatus();
  }
  std::erase_if(documents, [](const YAML::Node& d) { return d.IsNull(); });
  if (documents.empty()) {
    reader_.Problem(YAML::Mark(), "", "document is empty; expected an app definition (name: ..., repo: ..., tag: ...)");
    return reader_.ToStatus();
  }
  if (documents.size() > 1) {
    reader_.Problem(documents[1].Mark(), "", "one app per file: found a second YAML document");
    return reader_.ToStatus();
  }
  const YAML::Node& root = documents[0];
  if (!root.IsMap()) {
    reader_.Problem(root, "", "the document must be a mapping (name: ..., repo: ..., tag: ...)");
    return reader_.ToStatus();
  }
  // The readers check each node's shape before looking inside it; this is
  // the backstop that keeps a yaml-cpp surprise a problem, not a crash.
  try {
    ReadTopLevel(root);
    if (!reader_.ok()) return reader_.ToStatus();
    ApplyDefaults();
    CheckHealthGate(root["health"]);
    CheckUnitNames();
    // Templates see the paths with every default applied.
    const Variables variables = RoleVariables(spec_);
    CheckFileDestinations(variables);
    CheckTemplates(variables);
    if (reader_.ok() && policy_ != nullptr) CheckPolicy();
  } catch (const YAML::Exception& e) {
    reader_.Problem(e.mark, "", absl::StrCat("unexpected document structure: ", e.msg));
  }
  if (!reader_.ok()) return reader_.ToStatus();
  return spec_;
}

template <typename Validate>
bool AppSpecParser::ReadString(const YAML::Node& node, const std::string& field,
                               std::string* out, Validate validate) {
  if (YamlReader::Absent(node)) return false;
  std::optional<std::string> value = reader_.String(node, field);
  if (!value) return false;
  marks_[field] = node.Mark();
  if (!reader_.Check(node, field, validate(*value))) return false;
  *out = *std::move(value);
  return true;
}

void AppSpecParser::Require(const YAML::Node& map, absl::string_view key, const std::string& field) {
  if (YamlReader::Absent(map[std::string(key)])) {
    reader_.Problem(map, Join(field, key), "required");
  }
}

void AppSpecParser::ReadTopLevel(const YAML::Node& root) {
  reader_.Mapping(root, "",
                  {"name", "module", "user", "group", "ensure_user", "repo", "tag", "uv_version",
                   "ssh_key", "services", "timers", "files", "config", "targets", "health",
                   "rollout", "paths", "drift"});
  for (absl::string_view key : {"name", "repo", "tag"}) Require(root, key, "");
  ReadString(root["name"], "name", spec_.mutable_name(), Required(ValidateName));
  ReadString(root["module"], "module", spec_.mutable_module(), ValidateModule);
  ReadString(root["user"], "user", spec_.mutable_user(), ValidateUserOrGroup);
  ReadString(root["group"], "group", spec_.mutable_group(), ValidateUserOrGroup);
  spec_.set_ensure_user(true);
  if (!YamlReader::Absent(root["ensure_user"])) {
    marks_["ensure_user"] = root["ensure_user"].Mark();
    if (auto value = reader_.Bool(root["ensure_user"], "ensure_user")) spec_.set_ensure_user(*value);
  }
  ReadString(root["repo"], "repo", spec_.mutable_repo(), Required(ValidateRepoUrl));
  ReadString(root["tag"], "tag", spec_.mutable_tag(), Required(ValidateGitRef));
  ReadString(root["uv_version"], "uv_version", spec_.mutable_uv_version(), ValidateUvVersion);
  ReadString(root["ssh_key"], "ssh_key", spec_.mutable_ssh_key(), ValidateSshKey);

  const YAML::Node services = root["services"];
  if (!YamlReader::Absent(services) && reader_.Sequence(services, "services")) {
    for (size_t i = 0; i < services.size(); ++i) {
      ReadService(services[i], absl::StrCat("services[", i, "]"));
    }
  }
  const YAML::Node timers = root["timers"];
  if (!YamlReader::Absent(timers) && reader_.Sequence(timers, "timers")) {
    for (size_t i = 0; i < timers.size(); ++i) {
      ReadTimer(timers[i], absl::StrCat("timers[", i, "]"));
    }
  }
  const YAML::Node files = root["files"];
  if (!YamlReader::Absent(files) && reader_.Sequence(files, "files")) {
    for (size_t i = 0; i < files.size(); ++i) {
      ReadFile(files[i], absl::StrCat("files[", i, "]"));
    }
  }
  const YAML::Node config = root["config"];
  if (!YamlReader::Absent(config)) {
    // reset() rebinds the member; operator= would copy into the node it
    // refers to (and throws for a missing key).
    config_node_.reset(config);
    if (!config_node_.IsMap()) {
      reader_.Problem(config_node_, "config", "must be a mapping (it becomes config.yaml)");
    } else {
      std::vector<ConfigProblem> problems;
      spec_.set_config_yaml(EmitConfig(config_node_, {}, problems));
      for (const ConfigProblem& p : problems) reader_.Problem(p.mark, p.field, p.message);
    }
  }
  if (!YamlReader::Absent(root["targets"])) ReadTargets(root["targets"]);
  spec_.mutable_health()->set_min_healthy_ms(10'000);  // 0s is a valid choice
  if (!YamlReader::Absent(root["health"])) ReadHealth(root["health"]);
  if (!YamlReader::Absent(root["rollout"])) ReadRollout(root["rollout"]);
  if (!YamlReader::Absent(root["paths"])) ReadPaths(root["paths"]);
  // Absent stays unset (= repair): a spec written before `drift:` existed
  // keeps its canonical text, so its digest, so nothing is redeployed.
  std::string drift;
  if (ReadString(root["drift"], "drift", &drift)) {
    if (drift == "repair") {
      spec_.set_drift(v1::DRIFT_POLICY_REPAIR);
    } else if (drift == "report") {
      spec_.set_drift(v1::DRIFT_POLICY_REPORT);
    } else {
      reader_.Problem(root["drift"], "drift", "must be repair or report");
    }
  }
}

void AppSpecParser::ReadService(const YAML::Node& node, const std::string& field) {
  v1::Service* service = spec_.add_services();
  unit_marks_.push_back(node.Mark());
  if (!reader_.Mapping(node, field, {"name", "description", "command"})) return;
  Require(node, "name", field);
  Require(node, "command", field);
  marks_[field] = node.Mark();
  ReadString(node["name"], Join(field, "name"), service->mutable_name(), Required(ValidateName));
  const auto line = [](absl::string_view what) {
    return [what](absl::string_view text) { return ValidateUnitLine(text, what); };
  };
  if (ReadString(node["description"], Join(field, "description"), service->mutable_description(),
                 line("description"))) {
    template_sites_.push_back({node["description"].Mark(), Join(field, "description"),
                               service->mutable_description()});
  }
  if (ReadString(node["command"], Join(field, "command"), service->mutable_command(),
                 Required(line("command")))) {
    template_sites_.push_back({node["command"].Mark(), Join(field, "command"),
                               service->mutable_command()});
  }
}

void AppSpecParser::ReadTimer(const YAML::Node& node, const std::string& field) {
  v1::Timer* timer = spec_.add_timers();
  unit_marks_.push_back(node.Mark());
  if (!reader_.Mapping(node, field, {"name", "description", "schedule", "command"})) return;
  for (absl::string_view key : {"name", "schedule", "command"}) Require(node, key, field);
  marks_[field] = node.Mark();
  ReadString(node["name"], Join(field, "name"), timer->mutable_name(), Required(ValidateName));
  ReadString(node["schedule"], Join(field, "schedule"), timer->mutable_schedule(),
             Required(ValidateCalendar));
  const auto line = [](absl::string_view what) {
    return [what](absl::string_view text) { return ValidateUnitLine(text, what); };
  };
  if (ReadString(node["description"], Join(field, "description"), timer->mutable_description(),
                 line("description"))) {
    template_sites_.push_back({node["description"].Mark(), Join(field, "description"),
                               timer->mutable_description()});
  }
  if (ReadString(node["command"], Join(field, "command"), timer->mutable_command(),
                 Required(line("command")))) {
    template_sites_.push_back({node["command"].Mark(), Join(field, "command"),
                               timer->mutable_command()});
  }
}

void AppSpecParser::ReadFile(const YAML::Node& node, const std::string& field) {
  v1::File* file = spec_.add_files();
  file->set_mode(0600);
  if (!reader_.Mapping(node, field, {"dest", "content", "mode"})) {
    file_marks_.push_back(node.Mark());
    return;
  }
  file_marks_.push_back(node["dest"].IsDefined() ? node["dest"].Mark() : node.Mark());
  Require(node, "dest", field);
  Require(node, "content", field);
  marks_[field] = node.Mark();
  if (ReadString(node["dest"], Join(field, "dest"), file->mutable_dest(), Required(AnyValue))) {
    template_sites_.push_back({node["dest"].Mark(), Join(field, "dest"), file->mutable_dest()});
  }
  if (ReadString(node["content"], Join(field, "content"), file->mutable_content())) {
    template_sites_.push_back({node["content"].Mark(), Join(field, "content"),
                               file->mutable_content()});
  }
  std::string mode;
  if (ReadString(node["mode"], Join(field, "mode"), &mode)) {
    absl::StatusOr<uint32_t> parsed = ParseFileMode(mode);
    if (reader_.Check(node["mode"], Join(field, "mode"), parsed.status())) file->set_mode(*parsed);
  }
}

void AppSpecParser::ReadTargets(const YAML::Node& node) {
  if (!reader_.Mapping(node, "targets", {"labels"})) return;
  const YAML::Node labels = node["labels"];
  if (YamlReader::Absent(labels) || !reader_.FreeMapping(labels, "targets.labels")) return;
  auto& selector = *spec_.mutable_targets()->mutable_labels();
  for (const auto& entry : labels) {
    if (!entry.first.IsScalar()) continue;  // reported by FreeMapping
    const std::string& key = entry.first.Scalar();
    const std::string field = Join("targets.labels", key);
    if (!reader_.Check(entry.first, field, ValidateLabelKey(key))) continue;
    std::string value;
    if (YamlReader::Absent(entry.second)) {
      reader_.Problem(entry.second, field, "needs a value");
    } else if (ReadString(entry.second, field, &value, ValidateLabelValue)) {
      selector[key] = value;
    }
  }
}

void AppSpecParser::ReadHealth(const YAML::Node& node) {
  if (!reader_.Mapping(node, "health", {"min_healthy", "http", "deadline"})) return;
  v1::Health* health = spec_.mutable_health();
  std::string text;
  if (ReadString(node["min_healthy"], "health.min_healthy", &text)) {
    absl::StatusOr<uint32_t> ms = ParseDurationMs(text);
    if (reader_.Check(node["min_healthy"], "health.min_healthy", ms.status())) {
      health->set_min_healthy_ms(*ms);
    }
  }
  if (ReadString(node["deadline"], "health.deadline", &text)) {
    absl::StatusOr<uint32_t> ms = ParseDurationMs(text);
    if (reader_.Check(node["deadline"], "health.deadline", ms.status())) {
      if (*ms == 0) {
        reader_.Problem(node["deadline"], "health.deadline", "must be longer than 0s");
      }
      health->set_deadline_ms(*ms);
    }
  }
  ReadString(node["http"], "health.http", health->mutable_http(), ValidateHealthUrl);
}

void AppSpecParser::ReadRollout(const YAML::Node& node) {
  if (!reader_.Mapping(node, "rollout", {"canary", "batch", "auto_promote", "auto_rollback"})) {
    return;
  }
  v1::RolloutStrategy* rollout = spec_.mutable_rollout();
  std::string text;
  if (ReadString(node["canary"], "rollout.canary", &text)) {
    absl::StatusOr<v1::WaveSize> size = ParseWaveSize(text, /*allow_count=*/false);
    if (reader_.Check(node["canary"], "rollout.canary", size.status())) {
      *rollout->mutable_canary() = *size;
    }
  }
  if (ReadString(node["batch"], "rollout.batch", &text)) {
    absl::StatusOr<v1::WaveSize> size = ParseWaveSize(text, /*allow_count=*/true);
    if (reader_.Check(node["batch"], "rollout.batch", size.status())) {
      if (size->has_percent() && size->percent() == 0) {
        reader_.Problem(node["batch"], "rollout.batch", "must be at least 1% (or a host count)");
      }
      *rollout->mutable_batch() = *size;
    }
  }
  if (!YamlReader::Absent(node["auto_promote"])) {
    if (auto v = reader_.Bool(node["auto_promote"], "rollout.auto_promote")) {
      rollout->set_auto_promote(*v);
    }
  }
  rollout->set_auto_rollback(true);
  if (!YamlReader::Absent(node["auto_rollback"])) {
    if (auto v = reader_.Bool(node["auto_rollback"], "rollout.auto_rollback")) {
      rollout->set_auto_rollback(*v);
    }
  }
}

void AppSpecParser::ReadPaths(const YAML::Node& node) {
  if (!reader_.Mapping(node, "paths",
                       {"global_app_root", "app_root", "app_dir", "app_code_dir", "app_config_dir",
                        "app_config", "app_data_dir", "uv_location", "uv_isolate"})) {
    return;
  }
  marks_["paths"] = node.Mark();
  v1::Paths* paths = spec_.mutable_paths();
  const std::pair<const char*, std::string*> fields[] = {
      {"global_app_root", paths->mutable_global_app_root()},
      {"app_root", paths->mutable_app_root()},
      {"app_dir", paths->mutable_app_dir()},
      {"app_code_dir", paths->mutable_app_code_dir()},
      {"app_config_dir", paths->mutable_app_config_dir()},
      {"app_config", paths->mutable_app_config()},
      {"app_data_dir", paths->mutable_app_data_dir()},
      {"uv_location", paths->mutable_uv_location()},
  };
  for (const auto& [key, out] : fields) {
    ReadString(node[key], Join("paths", key), out, [](absl::string_view path) {
      if (path == "/") return absl::InvalidArgumentError("must not be \"/\"");
      return ValidateAbsolutePath(path);
    });
  }
  if (!YamlReader::Absent(node["uv_isolate"])) {
    if (auto v = reader_.Bool(node["uv_isolate"], "paths.uv_isolate")) paths->set_uv_isolate(*v);
  }
}

void AppSpecParser::ApplyDefaults() {
  if (spec_.module().empty()) spec_.set_module(spec_.name());
  if (spec_.user().empty()) {
    spec_.set_user(spec_.name());
    marks_["user"] = marks_["name"];
  }
  if (spec_.group().empty()) {
    spec_.set_group(spec_.user());
    marks_["group"] = marks_["user"];
  }
  v1::Health* health = spec_.mutable_health();
  if (health->deadline_ms() == 0) {
    // Leave the default comfortably above an explicit min_healthy.
    health->set_deadline_ms(std::max<uint32_t>(120'000, health->min_healthy_ms() * 2));
  }
  if (!spec_.has_rollout()) spec_.mutable_rollout()->set_auto_rollback(true);
  v1::RolloutStrategy* rollout = spec_.mutable_rollout();
  if (!rollout->has_canary()) rollout->mutable_canary()->set_percent(0);
  if (!rollout->has_batch()) rollout->mutable_batch()->set_percent(25);
  // The role's path defaults, each derived from the one above it, so
  // overriding app_root moves everything below it.
  v1::Paths* p = spec_.mutable_paths();
  const auto fill = [](std::string* field, std::string value) {
    if (field->empty()) *field = std::move(value);
  };
  fill(p->mutable_global_app_root(), "/applications");
  fill(p->mutable_app_root(), absl::StrCat(p->global_app_root(), "/", spec_.name()));
  fill(p->mutable_app_dir(), absl::StrCat(p->app_root(), "/app"));
  fill(p->mutable_app_code_dir(), absl::StrCat(p->app_dir(), "/code"));
  fill(p->mutable_app_config_dir(), absl::StrCat(p->app_dir(), "/config"));
  fill(p->mutable_app_config(), absl::StrCat(p->app_config_dir(), "/config.yaml"));
  fill(p->mutable_app_data_dir(), absl::StrCat(p->app_root(), "/data"));
  fill(p->mutable_uv_location(), p->uv_isolate() ? absl::StrCat(p->app_dir(), "/uv/uv")
                                                 : absl::StrCat(p->global_app_root(), "/uv"));
}

void AppSpecParser::CheckHealthGate(const YAML::Node& health) {
  const v1::Health& gate = spec_.health();
  if (gate.min_healthy_ms() >= gate.deadline_ms()) {
    const bool explicit_deadline =
        health.IsDefined() && health.IsMap() && health["deadline"].IsDefined();
    reader_.Problem(explicit_deadline ? health["deadline"].Mark()
                    : health.IsDefined() ? health.Mark() : YAML::Mark(),
                    "health.deadline",
                    absl::StrCat(FormatDurationMs(gate.deadline_ms()),
                                 " must be longer than min_healthy (",
                                 FormatDurationMs(gate.min_healthy_ms()),
                                 "), or no deploy can ever pass"));
  }
}

void AppSpecParser::CheckUnitNames() {
  // A service and a timer of the same name would both write APP-NAME.service.
  std::set<std::string> seen;
  const auto check = [&](const std::string& name, const YAML::Mark& mark,
                         const std::string& field) {
    if (name.empty()) return;
    if (!seen.insert(name).second) {
      reader_.Problem(mark, field,
                      absl::StrCat("\"", name, "\" is used twice: unit ", spec_.name(), "-", name,
                                   ".service would be written by both"));
    }
  };
  for (int i = 0; i < spec_.services_size(); ++i) {
    check(spec_.services(i).name(), unit_marks_[i], absl::StrCat("services[", i, "].name"));
  }
  for (int i = 0; i < spec_.timers_size(); ++i) {
    check(spec_.timers(i).name(), unit_marks_[spec_.services_size() + i],
          absl::StrCat("timers[", i, "].name"));
  }
}

void AppSpecParser::CheckFileDestinations(const Variables& variables) {
  const v1::Paths& p = spec_.paths();
  std::set<std::string> seen;
  for (int i = 0; i < spec_.files_size(); ++i) {
    const std::string field = absl::StrCat("files[", i, "].dest");
    absl::StatusOr<std::string> dest = ExpandTemplate(spec_.files(i).dest(), variables);
    if (!dest.ok()) continue;  // reported by CheckTemplates
    absl::Status valid = ValidateAbsolutePath(*dest);
    if (!valid.ok()) {
      reader_.Problem(file_marks_[i], field, valid.message());
      continue;
    }
    // Inside one of the app's own directories, never a directory itself.
    bool inside = false;
    for (const std::string* dir : {&p.app_root(), &p.app_dir(), &p.app_config_dir(),
                                   &p.app_data_dir()}) {
      inside = inside || absl::StartsWith(*dest, *dir + "/");
    }
    if (!inside) {
      reader_.Problem(file_marks_[i], field,
                      absl::StrCat("\"", *dest, "\" is outside the app's tree (", p.app_root(),
                                   "/...)"));
    } else if (absl::StartsWith(*dest, p.app_code_dir() + "/") || *dest == p.app_code_dir()) {
      reader_.Problem(file_marks_[i], field,
                      absl::StrCat("\"", *dest, "\" is inside the code checkout (",
                                   p.app_code_dir(), "), which each release replaces"));
    } else if (!spec_.config_yaml().empty() && *dest == p.app_config()) {
      reader_.Problem(file_marks_[i], field,
                      absl::StrCat("\"", *dest, "\" is the config file written from config:"));
    } else if (!seen.insert(*dest).second) {
      reader_.Problem(file_marks_[i], field, absl::StrCat("\"", *dest, "\" is written twice"));
    }
  }
}

void AppSpecParser::CheckPolicy() {
  for (const PolicyViolation& violation : CheckSpecPolicy(spec_, *policy_)) {
    reader_.Problem(Locate(violation.field), violation.field, violation.message);
  }
}

YAML::Mark AppSpecParser::Locate(std::string field) const {
  while (!field.empty()) {
    if (auto it = marks_.find(field); it != marks_.end()) return it->second;
    // "files[0].dest" -> "files[0]" -> "files"; "paths.app_dir" -> "paths".
    const size_t cut = field.find_last_of(".[");
    field.resize(cut == std::string::npos ? 0 : cut);
  }
  return YAML::Mark();  // the document's start: a default of the whole spec
}

void AppSpecParser::CheckTemplates(const Variables& variables) {
  for (const TemplateSite& site : template_sites_) {
    absl::StatusOr<std::string> expanded = ExpandTemplate(*site.value, variables);
    if (!expanded.ok()) reader_.Problem(site.mark, site.field, expanded.status().message());
  }
  if (!spec_.config_yaml().empty()) {
    std::vector<ConfigProblem> problems;
    EmitConfig(config_node_, {.variables = &variables}, problems);
    for (const ConfigProblem& problem : problems) {
      reader_.Problem(problem.mark, problem.field, problem.message);
    }
  }
}

}  // namespace

absl::StatusOr<v1::AppSpec> ParseAppSpec(absl::string_view yaml, absl::string_view source_name) {
  return AppSpecParser(source_name, nullptr).Parse(yaml);
}

absl::StatusOr<v1::AppSpec> ParseAppSpec(absl::string_view yaml, absl::string_view source_name,
                                         const SpecPolicy& policy) {
  return AppSpecParser(source_name, &policy).Parse(yaml);
}

}  // namespace pyservice::spec
