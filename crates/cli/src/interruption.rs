//! Ctrl-C (SIGINT) and SIGTERM: the commands that run cases catch them from the start, so that an
//! interrupted run still ends in reports.

use crate::exit::Exit;

/// A future that completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed by this call, so
/// a signal that comes any time later is caught, even before the future is first polled.
pub(crate) fn interruption() -> Result<impl Future<Output = ()> + Send + 'static, Exit> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handler = |kind: SignalKind| {
            signal(kind)
                .map_err(|err| Exit::usage(format!("cannot install a signal handler: {err}")))
        };
        let mut interrupt = handler(SignalKind::interrupt())?;
        let mut terminate = handler(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
