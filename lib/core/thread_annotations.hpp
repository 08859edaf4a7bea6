// Clang thread-safety analysis attributes (-Wthread-safety): which mutex guards which member,
// and which functions need it held. They expand to nothing on other compilers, so gcc builds are
// unchanged; the clang check (tests/thread_safety) verifies them. Use with dsx::Mutex and
// dsx::MutexLock (core/mutex.hpp): libstdc++'s std::mutex and std::lock_guard carry no
// annotations, so the analysis cannot see them.
//   int count_ GUARDED_BY(mu_);
//   void BumpLocked() REQUIRES(mu_);
#pragma once

#if defined(__clang__)
#define DSX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define DSX_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) DSX_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY DSX_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) DSX_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) DSX_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) DSX_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) DSX_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) DSX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) DSX_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) DSX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) DSX_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) DSX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) DSX_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) DSX_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) DSX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) DSX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) DSX_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) DSX_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS DSX_THREAD_ANNOTATION(no_thread_safety_analysis)
