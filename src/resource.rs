//! [`ApiResource`]: a page's data loaded from the API, as a `LocalResource`
//! whose reactive machinery is compiled once for the whole app.
//!
//! Why: `LocalResource::new` is generic over the value and the fetcher, so
//! every resource in the app put its own copy of the async-derived signal
//! (7–8 KB of wasm) in the bundle. Here every resource is the same
//! `LocalResource<Erased>`; only the small fetcher and the final downcast
//! are compiled per page.

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;
use sparecloud_api::Problem;

use crate::api::ApiResult;

/// What every resource stores: the answer behind `dyn Any`, or the problem.
type Erased = Result<Arc<dyn Any + Send + Sync>, Problem>;
type ErasedFetch = Pin<Box<dyn Future<Output = Erased>>>;
type ErasedAnswer = Pin<Box<dyn Future<Output = Erased> + Send>>;

/// A resource loading a `T` from the API. Read it with `.await` inside a
/// `Suspend` (it yields `ApiResult<T>`); it reloads when a signal its fetcher
/// reads changes, or on [`ApiResource::refetch`].
pub struct ApiResource<T> {
    inner: LocalResource<Erased>,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for ApiResource<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ApiResource<T> {}

impl<T: Clone + Send + Sync + 'static> ApiResource<T> {
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = ApiResult<T>> + 'static,
    {
        let fetch = move || -> ErasedFetch {
            let answer = fetch();
            Box::pin(async move {
                answer
                    .await
                    .map(|value| Arc::new(value) as Arc<dyn Any + Send + Sync>)
            })
        };
        Self {
            inner: erased_resource(Box::new(fetch)),
            value: PhantomData,
        }
    }

    /// The answer if it has arrived, reactively (outside a `Suspend`).
    pub fn get(&self) -> Option<ApiResult<T>> {
        erased_get(&self.inner).map(|answer| answer.map(|value| downcast::<T>(&value)))
    }
}

/// Only `ApiResource::new` stores into a resource, and it stores its own `T`.
fn downcast<T: Clone + 'static>(value: &Arc<dyn Any + Send + Sync>) -> T {
    value
        .downcast_ref::<T>()
        .expect("an ApiResource holds its own type")
        .clone()
}

impl<T> ApiResource<T> {
    /// Loads again, keeping what is shown until the new answer arrives.
    pub fn refetch(&self) {
        self.inner.refetch();
    }
}

/// The one place `LocalResource::new` is instantiated for API data.
fn erased_resource(fetch: Box<dyn Fn() -> ErasedFetch>) -> LocalResource<Erased> {
    LocalResource::new(move || fetch())
}

/// The one place a resource's future is instantiated for API data.
fn erased_answer(resource: LocalResource<Erased>) -> ErasedAnswer {
    Box::pin(resource.into_future())
}

fn erased_get(resource: &LocalResource<Erased>) -> Option<Erased> {
    resource.get()
}

impl<T: Clone + Send + Sync + 'static> IntoFuture for ApiResource<T> {
    type Output = ApiResult<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = ApiResult<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let answer = erased_answer(self.inner);
        Box::pin(async move { answer.await.map(|value| downcast::<T>(&value)) })
    }
}
