// One value of a query on a SQLite database file, read through a
// connection of its own: what is on disk, not what a store reports.
#ifndef PYSERVICE_TESTS_TESTING_SQLITE_QUERY_H_
#define PYSERVICE_TESTS_TESTING_SQLITE_QUERY_H_

#include <sqlite3.h>

#include <string>

#include "gtest/gtest.h"

namespace pyservice::testing {

// The first column of the first row of `sql` on the database at `path`;
// a test failure naming the query when there is none.
inline std::string QuerySqliteFile(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_SQLITE_QUERY_H_
