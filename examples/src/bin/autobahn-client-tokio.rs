//! Autobahn TestSuite client testee on tokio: `autobahn-client-tokio URL` (see
//! `scripts/autobahn/run.sh client`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(examples::autobahn_client(&url, "ws-tokio", |u| {
            ws_tokio::connect(u)
        }))?;
    Ok(())
}
