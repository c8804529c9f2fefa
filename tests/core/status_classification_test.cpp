// include/sleet/status.hpp: the one classification of error codes. Every Code has exactly one row
// (class and worker exit status), the rows are the ones docs/architecture.md's exit table and the
// supervisor rely on, and Status reads them instead of deciding by itself.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <sleet/status.hpp>

namespace {

using sleet::Code;
using sleet::CodeInfo;
using sleet::ErrorClass;
using sleet::WorkerExit;

struct Expected {
  Code code;
  const char* name;
  ErrorClass error_class;
  WorkerExit exit;
};

// Written out by hand from the documented rules, not derived from the table under test.
constexpr Expected kExpected[] = {
    {Code::ok, "ok", ErrorClass::fatal, WorkerExit::ok},
    {Code::invalid_argument, "invalid argument", ErrorClass::fatal, WorkerExit::unrecoverable},
    {Code::not_found, "not found", ErrorClass::abort, WorkerExit::restart},
    {Code::already_exists, "already exists", ErrorClass::abort, WorkerExit::restart},
    {Code::io_error, "I/O error", ErrorClass::abort, WorkerExit::restart},
    {Code::corruption, "corruption", ErrorClass::fatal, WorkerExit::unrecoverable},
    {Code::incompatible, "incompatible", ErrorClass::fatal, WorkerExit::unrecoverable},
    {Code::unavailable, "unavailable", ErrorClass::retriable, WorkerExit::restart},
    {Code::fenced, "fenced", ErrorClass::fatal, WorkerExit::unrecoverable},
    {Code::timeout, "timeout", ErrorClass::retriable, WorkerExit::restart},
    {Code::cancelled, "cancelled", ErrorClass::abort, WorkerExit::restart},
    {Code::internal, "internal error", ErrorClass::fatal, WorkerExit::restart},
};

const char* class_name(ErrorClass c) {
  switch (c) {
    case ErrorClass::retriable:
      return "retriable";
    case ErrorClass::abort:
      return "abort";
    case ErrorClass::fatal:
      return "fatal";
  }
  return "?";
}

TEST(StatusClassification, EveryCodeHasTheDocumentedClassAndExit) {
  auto table = sleet::code_table();
  ASSERT_EQ(table.size(), std::size(kExpected)) << "a Code without an expected row here";
  for (size_t i = 0; i < table.size(); ++i) {
    const Expected& want = kExpected[i];
    const CodeInfo& got = table[i];
    SCOPED_TRACE(want.name);
    EXPECT_EQ(got.code, want.code) << "rows in enum order";
    EXPECT_STREQ(got.name, want.name);
    EXPECT_EQ(got.error_class, want.error_class)
        << class_name(got.error_class) << " != " << class_name(want.error_class);
    EXPECT_EQ(got.worker_exit, want.exit);
    EXPECT_EQ(&sleet::code_info(want.code), &got) << "code_info reads the same table";
    EXPECT_STREQ(sleet::code_name(want.code), want.name);
    if (want.code == Code::ok) continue;
    sleet::Status s(want.code, "boom");
    EXPECT_EQ(s.error_class(), want.error_class);
    EXPECT_EQ(s.worker_exit(), want.exit);
    EXPECT_EQ(s.to_string(), std::string(want.name) + ": boom");
    EXPECT_EQ(s.with_context("while x").worker_exit(), want.exit) << "context keeps the code";
  }
}

// docs/architecture.md, "A worker's exit status": 3 exactly for incompatible, corruption, fenced
// and invalid_argument; every other failure 1. The supervisor's transient flag is the retriable
// class: unavailable and timeout only.
TEST(StatusClassification, ExitThreeAndTransientAreTheDocumentedSets) {
  std::set<Code> three, transient;
  for (const CodeInfo& r : sleet::code_table()) {
    if (r.code == Code::ok) {
      EXPECT_EQ(r.worker_exit, WorkerExit::ok);
      continue;
    }
    EXPECT_NE(r.worker_exit, WorkerExit::ok) << r.name << ": a failure never exits 0";
    if (r.worker_exit == WorkerExit::unrecoverable) three.insert(r.code);
    if (r.error_class == ErrorClass::retriable) transient.insert(r.code);
    // A code a running worker may retry or abort on is never one a restart cannot fix.
    if (r.error_class != ErrorClass::fatal) {
      EXPECT_EQ(r.worker_exit, WorkerExit::restart) << r.name;
    }
  }
  EXPECT_EQ(three, (std::set<Code>{Code::invalid_argument, Code::corruption, Code::incompatible,
                                   Code::fenced}));
  EXPECT_EQ(transient, (std::set<Code>{Code::unavailable, Code::timeout}));
  EXPECT_EQ(static_cast<int>(WorkerExit::restart), 1);
  EXPECT_EQ(static_cast<int>(WorkerExit::unrecoverable), 3);
}

TEST(StatusClassification, AValueOutsideTheEnumIsAnUnknownFatalRestart) {
  const CodeInfo& r = sleet::code_info(static_cast<Code>(999));
  EXPECT_STREQ(r.name, "unknown");
  EXPECT_STREQ(sleet::code_name(static_cast<Code>(999)), "unknown");
  EXPECT_EQ(r.error_class, ErrorClass::fatal);
  EXPECT_EQ(r.worker_exit, WorkerExit::restart);
}

}  // namespace
