//! Autobahn TestSuite client testee on smol: `autobahn-client-smol URL` (see
//! `scripts/autobahn/run.sh client`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    smol::block_on(examples::autobahn_client(&url, "ws-smol", |u| {
        ws_smol::connect(u)
    }))?;
    Ok(())
}
