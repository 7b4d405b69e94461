//! Clients built on first use, so that a cold start builds only what its first invocation
//! needs: constructing an SDK client costs about 0.1 ms in a release build (its runtime
//! plugins are applied and checked), and a handler that builds a dozen in `main` pays that
//! before it can answer anything.

use std::ops::Deref;
use std::sync::OnceLock;

pub struct Lazy<T> {
    value: OnceLock<T>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Lazy { value: OnceLock::new(), make: Box::new(make) }
    }

    /// `make(&context)` on first use, e.g. `Lazy::with(&aws, aws_sdk_kinesis::Client::new)`;
    /// the context (the AWS configuration, or whatever a group of tasks is built from) is
    /// cloned in.
    pub fn with<C: Clone + Send + Sync + 'static>(context: &C, make: fn(&C) -> T) -> Self
    where
        T: 'static,
    {
        let context = context.clone();
        Lazy::new(move || make(&context))
    }

    /// Whether it has been built.
    pub fn is_built(&self) -> bool {
        self.value.get().is_some()
    }
}

impl<T> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.get_or_init(|| (self.make)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn given_a_lazy_value_when_used_twice_then_it_is_built_once_and_only_then() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = built.clone();
        let lazy = Lazy::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            String::from("client")
        });
        assert!(!lazy.is_built());
        assert_eq!(built.load(Ordering::SeqCst), 0);
        assert_eq!(lazy.len(), 6);
        assert_eq!(*lazy, "client");
        assert_eq!(built.load(Ordering::SeqCst), 1);
    }
}
