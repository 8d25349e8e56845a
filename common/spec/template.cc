#include "common/spec/template.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spec/config_yaml.h"
#include "common/status/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {

Variables RoleVariables(const v1::AppSpec& spec) {
  const v1::Paths& paths = spec.paths();
  // The role's uv_run, with one change: the environment lives in the
  // release (APP_CODE_DIR is a symlink to the live one), so switching or
  // rolling back a release switches its environment with it. Interpreters
  // and the cache stay shared under APP_DIR/uv.
  const std::string uv_run = absl::StrCat(
      "env UV_PROJECT_ENVIRONMENT=", paths.app_code_dir(), "/.venv",
      " UV_PYTHON_INSTALL_DIR=", paths.app_dir(), "/uv/python",
      " UV_CACHE_DIR=", paths.app_dir(), "/uv/cache ", paths.uv_location(),
      " run --frozen --directory ", paths.app_code_dir());
  return {
      {"app_name", spec.name()},
      {"app_module", spec.module()},
      {"app_user", spec.user()},
      {"app_group", spec.group()},
      {"global_app_root", paths.global_app_root()},
      {"app_root", paths.app_root()},
      {"app_dir", paths.app_dir()},
      {"app_code_dir", paths.app_code_dir()},
      {"app_config_dir", paths.app_config_dir()},
      {"app_config", paths.app_config()},
      {"app_data_dir", paths.app_data_dir()},
      {"uv_location", paths.uv_location()},
      {"uv_run", uv_run},
  };
}

absl::StatusOr<std::string> ExpandTemplate(absl::string_view text,
                                           const Variables& variables) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == text.npos) break;
    absl::StrAppend(&out, text.substr(pos, open - pos));
    const size_t close = text.find("}}", open + 2);
    if (close == text.npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unclosed \"{{\" at offset ", open));
    }
    const absl::string_view name =
        absl::StripAsciiWhitespace(text.substr(open + 2, close - open - 2));
    const auto it = variables.find(name);
    if (it == variables.end()) {
      std::vector<std::string> known;
      for (const auto& [known_name, value] : variables) known.push_back(known_name);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown variable \"", absl::CHexEscape(name), "\" (known: ",
          absl::StrJoin(known, ", "), ")"));
    }
    out.append(it->second);
    pos = close + 2;
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

absl::StatusOr<v1::AppSpec> ExpandSpec(const v1::AppSpec& spec) {
  const Variables variables = RoleVariables(spec);
  v1::AppSpec expanded = spec;
  // Wraps an expansion error with the field it came from.
  const auto expand = [&](std::string* field, absl::string_view name) -> absl::Status {
    absl::StatusOr<std::string> value = ExpandTemplate(*field, variables);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", value.status().message()));
    }
    *field = *std::move(value);
    return absl::OkStatus();
  };
  for (int i = 0; i < expanded.services_size(); ++i) {
    v1::Service& service = *expanded.mutable_services(i);
    const std::string at = absl::StrCat("services[", i, "]");
    RETURN_IF_ERROR(expand(service.mutable_description(), at + ".description"));
    RETURN_IF_ERROR(expand(service.mutable_command(), at + ".command"));
  }
  for (int i = 0; i < expanded.timers_size(); ++i) {
    v1::Timer& timer = *expanded.mutable_timers(i);
    const std::string at = absl::StrCat("timers[", i, "]");
    RETURN_IF_ERROR(expand(timer.mutable_description(), at + ".description"));
    RETURN_IF_ERROR(expand(timer.mutable_command(), at + ".command"));
  }
  for (int i = 0; i < expanded.files_size(); ++i) {
    v1::File& file = *expanded.mutable_files(i);
    const std::string at = absl::StrCat("files[", i, "]");
    RETURN_IF_ERROR(expand(file.mutable_dest(), at + ".dest"));
    // The message names the field only: the content is a secret.
    RETURN_IF_ERROR(expand(file.mutable_content(), at + ".content"));
  }
  if (!expanded.config_yaml().empty()) {
    ASSIGN_OR_RETURN(std::string config,
                     ExpandConfigYaml(expanded.config_yaml(), variables));
    expanded.set_config_yaml(std::move(config));
  }
  return expanded;
}

}  // namespace pyservice::spec
