// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Abseil 20220623 (Debian bookworm) ships
// neither, so they are written once here. Same semantics as the ones in newer
// Abseil and in Envoy.
#ifndef PYSERVICE_COMMON_STATUS_STATUS_MACROS_H_
#define PYSERVICE_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PYSERVICE_STATUS_CONCAT_INNER_(a, b) a##b
#define PYSERVICE_STATUS_CONCAT_(a, b) PYSERVICE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller if not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status pyservice_status_ = (expr);   \
    if (!pyservice_status_.ok()) {               \
      return pyservice_status_;                  \
    }                                            \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` assigns the value of an absl::StatusOr or
// returns its status from the caller.
#define ASSIGN_OR_RETURN(lhs, expr) \
  PYSERVICE_ASSIGN_OR_RETURN_IMPL_( \
      PYSERVICE_STATUS_CONCAT_(pyservice_statusor_, __LINE__), lhs, expr)

#define PYSERVICE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                      \
  if (!statusor.ok()) {                                        \
    return std::move(statusor).status();                       \
  }                                                            \
  lhs = std::move(statusor).value()

#endif  // PYSERVICE_COMMON_STATUS_STATUS_MACROS_H_
