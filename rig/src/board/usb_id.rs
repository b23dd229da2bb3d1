//! A USB-serial adapter's identity: maker, product and serial number, which stay the same when the adapter
//! re-enumerates on another device node (a replug, a hub reset), so a board can be found again without asking
//! its chip for its MAC (which resets it). Spelled as udev spells it in `/dev/serial/by-id` link names
//! (`usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0`): a real tty's identity is read from
//! sysfs and spelled that way, and a link with such a name gives it too (all a twin's pty has).

use std::fmt;
use std::path::Path;

/// Where the kernel lists ttys.
const SYS_CLASS_TTY: &str = "/sys/class/tty";

/// How far above a tty's device sysfs holds its USB device (tty port → interface → device, and a spare).
const USB_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbId {
    /// udev's `ID_SERIAL`: maker and product strings (or the vendor and product ids of an adapter without
    /// strings) and, when the adapter has one, its serial number, joined by `_`.
    pub serial_id: String,
    /// Which port of the adapter (`if00-port0`, `if00` for a modem-class one): one serial number covers all of a
    /// multi-port adapter's.
    pub interface: String,
}

impl UsbId {
    /// The identity a `/dev/serial/by-id` link name carries, if it is one.
    pub fn parse(name: &str) -> Option<UsbId> {
        let rest = name.strip_prefix("usb-")?;
        let split = rest.rfind("-if")?;
        let (serial_id, interface) = (&rest[..split], &rest[split + 1..]);
        let number = interface.strip_prefix("if")?;
        let (number, port) = match number.split_once("-port") {
            Some((n, p)) => (n, Some(p)),
            None => (number, None),
        };
        let hex = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (!serial_id.is_empty() && hex(number) && port.is_none_or(digits)).then(|| UsbId {
            serial_id: serial_id.to_string(),
            interface: interface.to_string(),
        })
    }

    /// The identity sysfs gives the tty `name` (`ttyUSB0`) under `class` (`/sys/class/tty`), spelled as udev
    /// would; None for a tty that is not on a USB device.
    pub fn of_tty_in(class: &Path, name: &str) -> Option<UsbId> {
        let port = std::fs::canonicalize(class.join(name).join("device")).ok()?;
        let mut interface = None;
        let mut device = None;
        for dir in port.ancestors().take(USB_DEPTH) {
            if interface.is_none() {
                interface = attribute(dir, "bInterfaceNumber");
            }
            if dir.join("idVendor").is_file() {
                device = Some(dir);
                break;
            }
        }
        let device = device?;
        let text = |primary: &str, fallback: &str| {
            attribute(device, primary)
                .or_else(|| attribute(device, fallback))
                .map(|s| udev_spelling(&s))
        };
        let mut serial_id = format!(
            "{}_{}",
            text("manufacturer", "idVendor")?,
            text("product", "idProduct")?
        );
        // udev leaves out a serial number with control characters, non-ASCII bytes or commas.
        let serial = attribute(device, "serial")
            .filter(|s| s.chars().all(|c| (' '..='\x7f').contains(&c) && c != ','))
            .map(|s| udev_spelling(&s))
            .filter(|s| !s.is_empty());
        if let Some(serial) = serial {
            serial_id = format!("{serial_id}_{serial}");
        }
        let mut interface = format!("if{}", interface?);
        // usb-serial drivers (ttyUSB) number the adapter's ports; modem-class ttys (ttyACM) have no number.
        if let Some(n) = attribute(&port, "port_number") {
            interface = format!("{interface}-port{n}");
        }
        Some(UsbId {
            serial_id,
            interface,
        })
    }

    /// The identity of the port at `path` (`device`: the node it resolves to): sysfs's for a tty in /dev, else
    /// the one its own name carries (a by-id link).
    pub fn of_port(path: &Path, device: &Path) -> Option<UsbId> {
        let in_dev = device.parent() == Some(Path::new("/dev"));
        device
            .file_name()
            .filter(|_| in_dev)
            .and_then(|n| UsbId::of_tty_in(Path::new(SYS_CLASS_TTY), &n.to_string_lossy()))
            .or_else(|| UsbId::parse(&path.file_name()?.to_string_lossy()))
    }

    /// The adapter's serial number: the last word of its `serial_id` (for an adapter without one, the last word
    /// of its product name, which tells nothing apart but stays the same).
    pub fn serial_number(&self) -> &str {
        self.serial_id
            .rsplit_once('_')
            .map_or(self.serial_id.as_str(), |(_, s)| s)
    }
}

/// The name udev gives the adapter's link in `/dev/serial/by-id`.
impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "usb-{}-{}", self.serial_id, self.interface)
    }
}

/// A sysfs attribute's text, trimmed; None when absent or empty.
fn attribute(dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read(dir.join(name)).ok()?;
    let text = String::from_utf8_lossy(&text).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// A USB string as udev puts it in a link name: outer whitespace gone, each run of inner whitespace one `_`, and
/// every other character a device name cannot carry (`/` among them) a `_` too.
fn udev_spelling(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    words
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "#+-.:=@_\\".contains(c) || !c.is_ascii() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn by_id_names_give_the_identity_and_are_given_back() {
        let cp2102 = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0";
        let id = UsbId::parse(cp2102).unwrap();
        assert_eq!(
            id.serial_id,
            "Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001"
        );
        assert_eq!(id.interface, "if00-port0");
        assert_eq!(id.serial_number(), "0001");
        assert_eq!(id.to_string(), cp2102);

        // A modem-class adapter has no port number, and a product name may hold dashes.
        let acm = UsbId::parse("usb-Espressif_USB_JTAG_serial_debug_unit_7C:DF:A1:01:02:03-if00")
            .unwrap();
        assert_eq!(acm.interface, "if00");
        assert_eq!(acm.serial_number(), "7C:DF:A1:01:02:03");
        let ch340 = UsbId::parse("usb-1a86_USB2.0-Serial-if00-port0").unwrap();
        assert_eq!(ch340.serial_id, "1a86_USB2.0-Serial");

        for not_by_id in [
            "pts-3",
            "ttyUSB0",
            "usb-if00-port0",
            "usb-FTDI_FT232R_A50285BI",
            "usb-FTDI_FT232R_A50285BI-ifxx-port0",
            "usb-FTDI_FT232R_A50285BI-if00-port",
            "pci-0000:00:14.0-usb-0:2:1.0-port0",
        ] {
            assert_eq!(UsbId::parse(not_by_id), None, "{not_by_id}");
        }
    }

    /// Writes sysfs attributes as files under `dir`.
    fn attributes(dir: &Path, attrs: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, value) in attrs {
            std::fs::write(dir.join(name), format!("{value}\n")).unwrap();
        }
    }

    /// A sysfs-like tree: `class/NAME/device` links to the tty's port under a USB device's interface, as the
    /// kernel lays out a usb-serial (`port_number` set) or a modem-class tty.
    fn sysfs_tty(root: &Path, name: &str, device: &[(&str, &str)], port_number: Option<&str>) {
        let usb = root.join("devices/usb1/1-2");
        attributes(&usb, device);
        let interface = usb.join("1-2:1.0");
        attributes(&interface, &[("bInterfaceNumber", "00")]);
        let port = match port_number {
            Some(n) => {
                let port = interface.join(name);
                attributes(&port, &[("port_number", n)]);
                port
            }
            None => interface,
        };
        let class = root.join("class/tty").join(name);
        std::fs::create_dir_all(&class).unwrap();
        symlink(&port, class.join("device")).unwrap();
    }

    #[test]
    fn sysfs_attributes_are_spelled_as_udev_spells_the_by_id_link() {
        let root = tempfile::tempdir().unwrap();
        let class = root.path().join("class/tty");
        sysfs_tty(
            root.path(),
            "ttyUSB0",
            &[
                ("idVendor", "10c4"),
                ("idProduct", "ea60"),
                ("manufacturer", "Silicon Labs"),
                ("product", " CP2102 USB to UART Bridge Controller "),
                ("serial", "0001"),
            ],
            Some("0"),
        );
        let id = UsbId::of_tty_in(&class, "ttyUSB0").unwrap();
        assert_eq!(
            id.to_string(),
            "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0"
        );
        assert_eq!(UsbId::parse(&id.to_string()), Some(id));

        // No strings: the ids stand in; no serial number: none is added; odd characters become `_`.
        let bare = tempfile::tempdir().unwrap();
        sysfs_tty(
            bare.path(),
            "ttyACM0",
            &[
                ("idVendor", "1a86"),
                ("idProduct", "7523"),
                ("serial", "bad\u{1}serial"),
            ],
            None,
        );
        let id = UsbId::of_tty_in(&bare.path().join("class/tty"), "ttyACM0").unwrap();
        assert_eq!(id.to_string(), "usb-1a86_7523-if00");
        assert_eq!(udev_spelling("  FT232R  USB/UART\t"), "FT232R_USB_UART");

        // A tty on no USB device (a built-in UART), and one sysfs does not list.
        let uart = class.join("ttyS0");
        std::fs::create_dir_all(root.path().join("devices/platform/serial8250/tty/ttyS0")).unwrap();
        std::fs::create_dir_all(&uart).unwrap();
        symlink(
            root.path().join("devices/platform/serial8250/tty/ttyS0"),
            uart.join("device"),
        )
        .unwrap();
        assert_eq!(UsbId::of_tty_in(&class, "ttyS0"), None);
        assert_eq!(UsbId::of_tty_in(&class, "ttyUSB9"), None);
    }

    #[test]
    fn a_port_outside_dev_is_known_by_its_link_name() {
        let dir = tempfile::tempdir().unwrap();
        let name = "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0042-if00-port0";
        let id = UsbId::of_port(&dir.path().join(name), Path::new("/dev/pts/7")).unwrap();
        assert_eq!(id.serial_number(), "0042");
        assert_eq!(
            UsbId::of_port(&dir.path().join("pts-7"), Path::new("/dev/pts/7")),
            None
        );
    }
}
