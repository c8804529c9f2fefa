// ASSERT_OK(expr): a fatal gtest failure, naming the expression and its Status, unless `expr` (a
// sleet::Status, or anything with ok() and to_string()) is ok. For void test bodies and fixtures.
#pragma once

#include <gtest/gtest.h>

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    auto _st = (expr);                                         \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.to_string(); \
  } while (0)
