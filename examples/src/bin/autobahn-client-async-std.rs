//! Autobahn TestSuite client testee on async-std: `autobahn-client-async-std URL` (see
//! `scripts/autobahn/run.sh client`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    async_std::task::block_on(examples::autobahn_client(&url, "ws-async-std", |u| {
        ws_async_std::connect(u)
    }))?;
    Ok(())
}
