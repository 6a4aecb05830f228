//! A request's body must arrive whole within `--body-timeout`, and an
//! answer sent before its request's body was read to the end closes the
//! connection.
//!
//! actix cuts slow headers, not slow bodies: a client that sends the
//! headers and then a body slowly, or never, would keep its connection
//! (and a file descriptor) as long as it liked. And when the answer comes
//! first (a 401 for a missing token, say), actix keeps the connection open
//! waiting for the rest of that body; closing it is the only way to let
//! go of a client that will never send it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::Error;
use actix_web::HttpMessage;
use futures_util::Stream;
use tokio::time::Sleep;

/// How long a request's whole body may take to arrive, from its headers on.
#[derive(Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// What a body read past its deadline fails with; `json_body` answers 408.
pub const BODY_TIMED_OUT: io::ErrorKind = io::ErrorKind::TimedOut;

pub async fn bounded_body(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    let payload = request.take_payload();
    let timeout = request.app_data::<web::Data<BodyTimeout>>().map(|t| t.0);
    let (Some(timeout), false) = (timeout, matches!(payload, Payload::None)) else {
        request.set_payload(payload);
        let response = next.call(request).await?;
        return Ok(response.map_into_boxed_body().map_into_left_body());
    };
    let unread = Rc::new(RefCell::new(payload));
    let ended = Rc::new(Cell::new(false));
    let body = Deadline {
        inner: Rc::clone(&unread),
        deadline: Box::pin(tokio::time::sleep(timeout)),
        ended: Rc::clone(&ended),
    };
    request.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let response = next.call(request).await?.map_into_boxed_body();
    if ended.get() {
        return Ok(response.map_into_left_body());
    }
    let response = response.map_body(|head, body| {
        head.set_connection_type(ConnectionType::Close);
        // actix would drain a dropped chunked body before closing, for as
        // long as the client takes to send it; one still held is closed.
        HoldsUnreadBody {
            body,
            _unread: unread,
        }
    });
    Ok(response.map_into_boxed_body().map_into_right_body())
}

/// The request's body, failing once its deadline passes, and noting when
/// it has been read to the end.
struct Deadline {
    inner: Rc<RefCell<Payload>>,
    deadline: Pin<Box<Sleep>>,
    ended: Rc<Cell<bool>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut inner = this.inner.borrow_mut();
        match Pin::new(&mut *inner).poll_next(cx) {
            Poll::Ready(None) => {
                this.ended.set(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    BODY_TIMED_OUT,
                    "the request body did not arrive in time",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// An answer's body that keeps its request's unread body until it has
/// been sent, so that actix closes the connection rather than drain it.
struct HoldsUnreadBody {
    body: BoxBody,
    _unread: Rc<RefCell<Payload>>,
}

impl MessageBody for HoldsUnreadBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}
