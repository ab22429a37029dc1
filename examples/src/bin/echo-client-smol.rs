//! Interactive client on smol: `echo-client-smol ws://127.0.0.1:9001` sends each line of
//! standard input and prints what the server sends back.
//! Honours HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    smol::block_on(async {
        let (ws, response) = ws_smol::connect_with(url.as_str(), examples::client_config()).await?;
        eprintln!("connected: {}", response.status());
        examples::interactive(ws).await
    })?;
    Ok(())
}
