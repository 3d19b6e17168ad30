//! [`ApiResource`] and [`ApiAction`]: the pages' resources and actions over
//! the API, whose reactive machinery is compiled once for the whole app.
//!
//! Why: `LocalResource::new` and `Action::new_local` are generic over their
//! values and closures, so every resource and action in the app put its own
//! copy of the async signal, the spawned task and their signals in the wasm
//! (7–8 KB for a resource). Here they all are one `LocalResource<Erased>`
//! and one `Action<Shared, Shared>` holding values behind `dyn Any`; only a
//! page's small closures and the downcasts back are compiled per page.
//! `components::loaded` does the same for the views that show them.

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;
use sparecloud_api::Problem;

use crate::api::ApiResult;

/// A value of any type: what the erased resources and actions hold.
pub type Shared = Arc<dyn Any + Send + Sync>;
/// What every resource stores: the answer, or the problem.
pub type Erased = Result<Shared, Problem>;
type ErasedFetch = Pin<Box<dyn Future<Output = Erased>>>;
pub type ErasedAnswer = Pin<Box<dyn Future<Output = Erased> + Send>>;
type ErasedRun = Pin<Box<dyn Future<Output = Shared>>>;

/// Only this module's constructors store into the erased resources and
/// actions, and each stores its own type parameter, so this never fails.
fn downcast<T: Clone + 'static>(value: &Shared) -> T {
    value
        .downcast_ref::<T>()
        .expect("erased value of its own type")
        .clone()
}

/// A resource loading a `T` from the API. A page shows it through
/// `components::loaded`; where a page has markup of its own, `.await` it
/// inside a `Suspend` (it yields `ApiResult<T>`). It reloads when a signal
/// its fetcher reads changes, or on [`ApiResource::refetch`].
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
            Box::pin(async move { answer.await.map(|value| Arc::new(value) as Shared) })
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

impl<T> ApiResource<T> {
    /// Loads again, keeping what is shown until the new answer arrives.
    pub fn refetch(&self) {
        self.inner.refetch();
    }
}

impl<T: Clone + Send + Sync + 'static> IntoFuture for ApiResource<T> {
    type Output = ApiResult<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = ApiResult<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let answer = erased_answer(self.inner);
        Box::pin(async move { answer.await.map(|value| downcast::<T>(&value)) })
    }
}

/// The one place `LocalResource::new` is instantiated for API data.
fn erased_resource(fetch: Box<dyn Fn() -> ErasedFetch>) -> LocalResource<Erased> {
    LocalResource::new(fetch)
}

/// The one place a resource's future is instantiated for API data.
pub fn erased_answer(resource: LocalResource<Erased>) -> ErasedAnswer {
    Box::pin(resource.into_future())
}

/// What `components::loaded` shows: one resource, or a tuple of them
/// awaited together, given back to the page as one typed value.
pub trait Loadable: Copy + Send + Sync + 'static {
    type Value;
    fn erased(self) -> Vec<LocalResource<Erased>>;
    /// `answers` holds one value per resource of `erased`, in order.
    fn typed(answers: &[Shared]) -> Self::Value;
}

impl<T: Clone + Send + Sync + 'static> Loadable for ApiResource<T> {
    type Value = T;
    fn erased(self) -> Vec<LocalResource<Erased>> {
        vec![self.inner]
    }
    fn typed(answers: &[Shared]) -> T {
        downcast(&answers[0])
    }
}

impl<A, B> Loadable for (ApiResource<A>, ApiResource<B>)
where
    A: Clone + Send + Sync + 'static,
    B: Clone + Send + Sync + 'static,
{
    type Value = (A, B);
    fn erased(self) -> Vec<LocalResource<Erased>> {
        vec![self.0.inner, self.1.inner]
    }
    fn typed(answers: &[Shared]) -> (A, B) {
        (downcast(&answers[0]), downcast(&answers[1]))
    }
}

impl<A, B, C> Loadable for (ApiResource<A>, ApiResource<B>, ApiResource<C>)
where
    A: Clone + Send + Sync + 'static,
    B: Clone + Send + Sync + 'static,
    C: Clone + Send + Sync + 'static,
{
    type Value = (A, B, C);
    fn erased(self) -> Vec<LocalResource<Erased>> {
        vec![self.0.inner, self.1.inner, self.2.inner]
    }
    fn typed(answers: &[Shared]) -> (A, B, C) {
        (
            downcast(&answers[0]),
            downcast(&answers[1]),
            downcast(&answers[2]),
        )
    }
}

fn erased_get(resource: &LocalResource<Erased>) -> Option<Erased> {
    resource.get()
}

/// An action taking an `I` and giving an `O` (usually an API call and its
/// answer). Like Leptos' `Action`, but `value` and `input` are read as
/// values (reactively), not as signals.
pub struct ApiAction<I, O> {
    inner: Action<Shared, Shared>,
    types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for ApiAction<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for ApiAction<I, O> {}

impl<I, O> ApiAction<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    pub fn new<Fut>(run: impl Fn(&I) -> Fut + 'static) -> Self
    where
        Fut: Future<Output = O> + 'static,
    {
        let run = move |input: &Shared| -> ErasedRun {
            let outcome = run(input
                .downcast_ref::<I>()
                .expect("erased value of its own type"));
            Box::pin(async move { Arc::new(outcome.await) as Shared })
        };
        Self {
            inner: erased_action(Box::new(run)),
            types: PhantomData,
        }
    }

    pub fn dispatch(&self, input: I) {
        erased_dispatch(self.inner, Arc::new(input));
    }

    /// The last outcome, once there is one.
    pub fn value(&self) -> Option<O> {
        erased_value(self.inner).map(|value| downcast::<O>(&value))
    }

    /// The input being run, while one is.
    pub fn input(&self) -> Option<I> {
        erased_input(self.inner).map(|input| downcast::<I>(&input))
    }
}

impl<I, O> ApiAction<I, O> {
    pub fn pending(&self) -> Memo<bool> {
        self.inner.pending()
    }

    /// Counts the outcomes: a resource that reads it reloads after each.
    pub fn version(&self) -> RwSignal<usize> {
        self.inner.version()
    }
}

/// The one place `Action::new_local` is instantiated.
fn erased_action(run: Box<dyn Fn(&Shared) -> ErasedRun>) -> Action<Shared, Shared> {
    Action::new_local(move |input: &Shared| run(input))
}

fn erased_dispatch(action: Action<Shared, Shared>, input: Shared) {
    action.dispatch(input);
}

fn erased_value(action: Action<Shared, Shared>) -> Option<Shared> {
    action.value().get()
}

fn erased_input(action: Action<Shared, Shared>) -> Option<Shared> {
    action.input().get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tuple_of_resources_reads_its_answers_in_order() {
        let answers: Vec<Shared> = vec![
            Arc::new(7_u32),
            Arc::new("seven".to_owned()),
            Arc::new(vec![7_u8]),
        ];
        let typed =
            <(ApiResource<u32>, ApiResource<String>, ApiResource<Vec<u8>>) as Loadable>::typed(
                &answers,
            );
        assert_eq!(typed, (7, "seven".to_owned(), vec![7]));
        let pair = <(ApiResource<u32>, ApiResource<String>) as Loadable>::typed(&answers[..2]);
        assert_eq!(pair, (7, "seven".to_owned()));
        assert_eq!(<ApiResource<u32> as Loadable>::typed(&answers), 7);
    }
}
