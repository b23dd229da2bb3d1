//! A tty (USB-serial adapter or pty) as an async byte stream: raw mode, any baud rate (74880 included, through
//! termios2), modem lines, and the pty pair the twin boards are built on. Plain libc: the handful of calls
//! needed here do not justify a serial-port crate, and one code path serves real ports and ptys alike.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with plain integer arguments.
    unsafe {
        let flags = check(libc::fcntl(fd, libc::F_GETFL))?;
        check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// Raw 8N1, no flow control, no echo: bytes pass untouched both ways.
fn make_raw(fd: RawFd) -> io::Result<()> {
    // SAFETY: termios is plain data filled in by tcgetattr before use.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        check(libc::tcgetattr(fd, &mut t))?;
        libc::cfmakeraw(&mut t);
        t.c_cflag |= libc::CLOCAL | libc::CREAD;
        t.c_cflag &= !(libc::CRTSCTS | libc::CSTOPB);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        check(libc::tcsetattr(fd, libc::TCSANOW, &t))?;
    }
    Ok(())
}

/// Any baud rate, standard or not, with Linux's termios2 (BOTHER).
fn set_baud(fd: RawFd, baud: u32) -> io::Result<()> {
    // SAFETY: termios2 is plain data read by TCGETS2 before it is modified and written back.
    unsafe {
        let mut t: libc::termios2 = std::mem::zeroed();
        check(libc::ioctl(fd, libc::TCGETS2, &mut t))?;
        t.c_cflag &= !libc::CBAUD;
        t.c_cflag |= libc::BOTHER;
        t.c_ispeed = baud;
        t.c_ospeed = baud;
        check(libc::ioctl(fd, libc::TCSETS2, &t))?;
    }
    Ok(())
}

/// An open tty, readable and writable without blocking the runtime.
pub struct Tty {
    fd: AsyncFd<OwnedFd>,
}

/// A port can be busy for an instant: a process forked at the moment it was last closed holds a copy of the
/// descriptor (and its lock) until its exec. Opening retries this often, this far apart, before it gives up.
const BUSY_TRIES: u32 = 10;
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Why locking a port failed: held by another open file (EWOULDBLOCK) is busy, which `Tty::open` waits out;
/// anything else is reported as itself.
fn lock_failed(path: &Path, error: io::Error) -> io::Error {
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!("{} is in use by another program", path.display()),
        )
    } else {
        io::Error::new(
            error.kind(),
            format!("cannot lock {}: {error}", path.display()),
        )
    }
}

/// A port whose line speed can change under an open connection (the flasher's CHANGE_BAUDRATE).
pub trait SetBaud {
    fn set_baud(&self, baud: u32) -> io::Result<()>;
}

impl SetBaud for Tty {
    fn set_baud(&self, baud: u32) -> io::Result<()> {
        set_baud(self.fd.as_raw_fd(), baud)
    }
}

impl Tty {
    /// Opens a serial port (or a twin's pty) raw at `baud`, exclusively: a second opener gets EBUSY/EWOULDBLOCK
    /// rather than half the bytes. A port busy for longer than a fork's instant is an error of kind
    /// `ResourceBusy`; the pauses between tries leave the runtime's thread to other tasks.
    pub async fn open(path: &Path, baud: u32) -> io::Result<Tty> {
        let mut tries = 1;
        loop {
            match Tty::open_once(path, baud) {
                Err(e) if e.kind() == io::ErrorKind::ResourceBusy && tries < BUSY_TRIES => {
                    tries += 1;
                    tokio::time::sleep(BUSY_PAUSE).await;
                }
                done => return done,
            }
        }
    }

    fn open_once(path: &Path, baud: u32) -> io::Result<Tty> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in port path"))?;
        // SAFETY: open with a valid C string; the descriptor is owned at once.
        let fd = unsafe {
            OwnedFd::from_raw_fd(check(libc::open(
                c_path.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            ))?)
        };
        // SAFETY: flock on the descriptor just opened.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } < 0 {
            return Err(lock_failed(path, io::Error::last_os_error()));
        }
        make_raw(fd.as_raw_fd())?;
        set_baud(fd.as_raw_fd(), baud)?;
        Tty::register(fd)
    }

    fn from_owned(fd: OwnedFd) -> io::Result<Tty> {
        set_nonblocking(fd.as_raw_fd())?;
        Tty::register(fd)
    }

    fn register(fd: OwnedFd) -> io::Result<Tty> {
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged for as long as the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register(fd) }?;
        Ok(Tty { fd })
    }

    /// A second handle on the same port that sets DTR and RTS (true = asserted, pin low). On a pty the
    /// ioctls fail with ENOTTY: the twin takes these lines through its side channel instead.
    pub fn modem_lines(&self) -> io::Result<ModemLines> {
        // SAFETY: dup of our descriptor, owned at once.
        let fd = unsafe { OwnedFd::from_raw_fd(check(libc::dup(self.fd.as_raw_fd()))?) };
        Ok(ModemLines { fd })
    }

    fn poll_io<T>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        mut op: impl FnMut(RawFd) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        loop {
            let mut guard = if write {
                ready!(self.fd.poll_write_ready(cx))?
            } else {
                ready!(self.fd.poll_read_ready(cx))?
            };
            match guard.try_io(|fd| op(fd.as_raw_fd())) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncRead for Tty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let n = ready!(self.poll_io(cx, false, |fd| {
            // SAFETY: reading into the initialised, unfilled part of the caller's buffer.
            let n = unsafe { libc::read(fd, unfilled.as_mut_ptr().cast(), unfilled.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                // A pty master whose other side is closed reads EIO: that is end of stream, not a failure.
                if e.raw_os_error() == Some(libc::EIO) {
                    return Ok(0);
                }
                return Err(e);
            }
            Ok(n as usize)
        }))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Tty {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, true, |fd| {
            // SAFETY: writing from the caller's slice.
            let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// DTR and RTS of an open serial port.
pub struct ModemLines {
    fd: OwnedFd,
}

impl ModemLines {
    pub fn set(&self, dtr: bool, rts: bool) -> io::Result<()> {
        for (bit, on) in [(libc::TIOCM_DTR, dtr), (libc::TIOCM_RTS, rts)] {
            let request = if on { libc::TIOCMBIS } else { libc::TIOCMBIC };
            // SAFETY: TIOCMBIS/TIOCMBIC read one c_int through the pointer.
            check(unsafe { libc::ioctl(self.fd.as_raw_fd(), request, &bit) })?;
        }
        Ok(())
    }
}

/// Both ends of a new pty: the master (the twin board's side) and the slave's path (the port clients open).
/// The slave is kept open by the returned guard so that the master never reads EIO between clients.
pub struct PtyPair {
    pub master: Tty,
    pub slave_path: PathBuf,
    pub slave_guard: OwnedFd,
}

pub fn open_pty() -> io::Result<PtyPair> {
    let mut master: RawFd = -1;
    let mut slave: RawFd = -1;
    // SAFETY: openpty fills in two descriptors we then own; the name, termios and winsize arguments are null.
    unsafe {
        check(libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        ))?;
    }
    // SAFETY: both descriptors were just returned by openpty.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: FD_CLOEXEC on descriptors we own, so board processes do not inherit them.
        check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    }
    make_raw(slave.as_raw_fd())?;
    let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))?;
    Ok(PtyPair {
        master: Tty::from_owned(master)?,
        slave_path,
        slave_guard: slave,
    })
}

/// Drops bytes the twin wrote that no client read (a UART sending into an unplugged cable).
pub fn discard_unread(slave_guard: &OwnedFd) {
    // SAFETY: tcflush on a descriptor we own; failure only means nothing was dropped.
    unsafe {
        libc::tcflush(slave_guard.as_raw_fd(), libc::TCIFLUSH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_cross_a_pty_untouched_and_the_port_is_exclusive() {
        let pair = open_pty().unwrap();
        let mut master = pair.master;
        let mut port = Tty::open(&pair.slave_path, 74_880).await.unwrap();
        let busy = Tty::open(&pair.slave_path, 115_200).await.err().unwrap();
        assert_eq!(busy.kind(), io::ErrorKind::ResourceBusy, "{busy}");
        let all: Vec<u8> = (0..=255).collect();
        port.write_all(&all).await.unwrap();
        let mut got = vec![0; 256];
        master.read_exact(&mut got).await.unwrap();
        assert_eq!(got, all, "no CR/LF translation, no echo");
        master.write_all(b"\r\n\x03\x04").await.unwrap();
        let mut back = [0; 4];
        port.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"\r\n\x03\x04");
        let e = port.modem_lines().unwrap().set(true, false).unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ENOTTY) | Some(libc::EINVAL)),
            "{e}"
        );
    }

    #[test]
    fn only_a_lock_held_elsewhere_reads_as_busy() {
        let port = Path::new("/dev/ttyUSB0");
        let busy = lock_failed(port, io::Error::from_raw_os_error(libc::EWOULDBLOCK));
        assert_eq!(busy.kind(), io::ErrorKind::ResourceBusy);
        assert_eq!(
            busy.to_string(),
            "/dev/ttyUSB0 is in use by another program"
        );
        for errno in [libc::ENOLCK, libc::EINTR, libc::EBADF, libc::EINVAL] {
            let cause = io::Error::from_raw_os_error(errno);
            let e = lock_failed(port, io::Error::from_raw_os_error(errno));
            // Not ResourceBusy: `open` retries only that kind.
            assert_ne!(e.kind(), io::ErrorKind::ResourceBusy, "{e}");
            assert_eq!(e.kind(), cause.kind(), "{e}");
            assert_eq!(e.to_string(), format!("cannot lock /dev/ttyUSB0: {cause}"));
        }
    }

    /// On a current-thread runtime (`tokio::test`'s), as on any worker: waiting for a busy port must leave the
    /// thread to other tasks.
    #[tokio::test]
    async fn a_port_held_for_an_instant_opens_once_released_without_stalling_other_tasks() {
        let pair = open_pty().unwrap();
        let held = Tty::open(&pair.slave_path, 115_200).await.unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(held);
        });
        let started = std::time::Instant::now();
        let (opened, ticks) =
            crate::testing::ticks_during(Tty::open(&pair.slave_path, 115_200)).await;
        opened.expect("opened after the holder let go");
        assert!(started.elapsed() >= std::time::Duration::from_millis(60));
        assert!(ticks >= 5, "other tasks ran {ticks} times in the wait");
        release.join().unwrap();
    }
}
