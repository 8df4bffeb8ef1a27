#ifndef PEERGRAPH_CHECK_H
#define PEERGRAPH_CHECK_H
/* A minimal unit-test harness. Each tests/unit/test_*.c is one binary:
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); CHECK_STR(a, "x"); }
 *   int main(void) { RUN(test_something); return check_summary("test_foo"); }
 *
 * A failed CHECK ends that test (not the binary). SKIP("why") marks a test
 * skipped (counted apart, never as passed). The last line printed is
 * "NAME: N passed, N failed, N skipped", which tests/run.sh adds up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SANITIZED is 1 in the AddressSanitizer build (gcc or clang): tests with the
 * real model shorten their loops there. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int check_passed_, check_failed_, check_skipped_;
static int check_cur_failed_, check_cur_skipped_;

#define CHECK_FAIL_(...)                                                                   \
    do {                                                                                   \
        fprintf(stderr, "    %s:%d: ", __FILE__, __LINE__);                                \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fprintf(stderr, "\n");                                                             \
        check_cur_failed_ = 1;                                                             \
        return;                                                                            \
    } while (0)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            CHECK_FAIL_("CHECK(%s) failed", #cond);                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond))                                                                       \
            CHECK_FAIL_(__VA_ARGS__);                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                    \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        if (a_ != b_)                                                                      \
            CHECK_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                         \
    } while (0)

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *a_ = (a), *b_ = (b);                                                   \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                             \
            CHECK_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",          \
                        b_ ? b_ : "(null)");                                               \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        if (!(fabs(a_ - b_) <= (tol)))                                                     \
            CHECK_FAIL_("%s ~ %s: %g vs %g (tol %g)", #a, #b, a_, b_, (double)(tol));      \
    } while (0)

#define SKIP(...)                                                                          \
    do {                                                                                   \
        fprintf(stderr, "    skipped: ");                                                  \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fprintf(stderr, "\n");                                                             \
        check_cur_skipped_ = 1;                                                            \
        return;                                                                            \
    } while (0)

#define RUN(fn)                                                                            \
    do {                                                                                   \
        check_cur_failed_ = check_cur_skipped_ = 0;                                        \
        fn();                                                                              \
        if (check_cur_failed_) {                                                           \
            check_failed_++;                                                               \
            fprintf(stderr, "FAIL %s\n", #fn);                                             \
        } else if (check_cur_skipped_) {                                                   \
            check_skipped_++;                                                              \
            fprintf(stderr, "skip %s\n", #fn);                                             \
        } else {                                                                           \
            check_passed_++;                                                               \
            if (getenv("CHECK_VERBOSE"))                                                   \
                fprintf(stderr, "ok   %s\n", #fn);                                         \
        }                                                                                  \
    } while (0)

static inline int check_summary(const char *name)
{
    fflush(stderr);
    printf("%s: %d passed, %d failed, %d skipped\n", name, check_passed_, check_failed_,
           check_skipped_);
    fflush(stdout);
    return check_failed_ ? 1 : 0;
}
#endif
