// `--set NAME=VALUE` parsing, shared by run and diff.
#include <fmt/format.h>

#include "assign/assigner.h"
#include "commands.h"

namespace assignscope::cli {

Result<Params> params_from_sets(const assign::AssignerInfo& info, const std::vector<std::string>& sets,
                                const std::string& flag) {
  Params params = assign::default_params(info);
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::Usage(fmt::format("{} {}: expected NAME=VALUE, e.g. {} topk=5", flag, s, flag));
    const Status st = params.set(s.substr(0, eq), s.substr(eq + 1));
    if (!st.ok()) return Status::Usage(st.message() + " (" + info.name + ")");
  }
  return params;
}

}  // namespace assignscope::cli
