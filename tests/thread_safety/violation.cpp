// Must NOT compile under check.sh: a guarded member written without its mutex.
#include "core/mutex.hpp"

class Counter {
 public:
  void Bump() { ++n_; }  // missing MutexLock

 private:
  dsx::Mutex mu_;
  int n_ GUARDED_BY(mu_) = 0;
};

int main() {
  Counter c;
  c.Bump();
}
