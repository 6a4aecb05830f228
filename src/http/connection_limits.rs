//! Open connections per client address. Beyond `--max-connections-per-address`,
//! every request on a further connection from that address is answered 429
//! and the connection closed, so that one address cannot take the
//! server's file descriptors. (The server's own cap, `--max-connections`,
//! is actix's: it stops accepting until a connection closes.)

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::{Error, ResponseError};

use crate::http::error::ApiError;

/// The open connections of each client address, across the workers.
pub struct ConnectionsByAddress {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its address's count, given back when the
/// connection closes (its data is dropped with it).
pub struct AddressSlot {
    address: IpAddr,
    admitted: bool,
    counts: Arc<ConnectionsByAddress>,
}

impl ConnectionsByAddress {
    pub fn new(limit: usize) -> Arc<ConnectionsByAddress> {
        Arc::new(ConnectionsByAddress {
            limit,
            open: Mutex::default(),
        })
    }

    /// Counts a new connection (actix's `on_connect`).
    pub fn on_connect(self: &Arc<Self>, connection: &dyn Any, data: &mut Extensions) {
        let Some(address) = connection
            .downcast_ref::<TcpStream>()
            .and_then(|stream| stream.peer_addr().ok())
            .map(|peer| peer.ip())
        else {
            return;
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_default();
        *count += 1;
        data.insert(AddressSlot {
            address,
            admitted: *count <= self.limit,
            counts: Arc::clone(self),
        });
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Answers a request on a connection beyond its address's cap with a 429,
/// and closes that connection.
pub async fn refuse_crowded_addresses(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let refused = request
        .conn_data::<AddressSlot>()
        .filter(|slot| !slot.admitted)
        .map(|slot| slot.counts.limit);
    let Some(limit) = refused else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let mut response = ApiError::TooManyConnections { limit }.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    Ok(request.into_response(response).map_into_right_body())
}
