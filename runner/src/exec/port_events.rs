//! A board's port lost or found again, as the event log records it.

use model::events::Body;
use rig::board::PortNotice;

pub fn port_event(notice: PortNotice) -> Body {
    match notice {
        PortNotice::Lost { board, port, by } => Body::BoardLost {
            board,
            port: port.display().to_string(),
            by: by.as_str().into(),
        },
        PortNotice::Found {
            board,
            mac,
            port,
            scanned,
            by,
            usb,
        } => Body::BoardPort {
            board,
            mac,
            port: port.display().to_string(),
            scanned,
            by: by.as_str().into(),
            usb,
        },
    }
}
