//! Interactive client on smol: `echo-client-smol ws://127.0.0.1:9001` sends each line of
//! standard input and prints what the server sends back.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = examples::url_arg();
    smol::block_on(async {
        let (ws, response) = ws_smol::connect(url.as_str()).await?;
        eprintln!("connected: {}", response.status());
        examples::interactive(ws).await
    })?;
    Ok(())
}
