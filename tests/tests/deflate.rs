//! permessage-deflate across the runtimes: negotiation, round trips, and a decompression bomb.

use futures::channel::mpsc;
use futures::StreamExt;
use std::sync::Arc;
use tests::{echo_handler, request, within, Handler, Runtime, ServeOptions};
use ws_driver::ws_handshake::DeflateOptions;
use ws_driver::{ClientConfig, CloseCode, Message, ServerConfig};

fn json_stream(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"trade","seq":{i},"symbol":"ABC","price":{}.{:02},"qty":{},"venue":"XNYS","flags":["regular","lit"]}}"#,
                100 + i % 7,
                i % 100,
                10 * (i % 13)
            )
        })
        .collect()
}

fn negotiated_round_trip<R: Runtime>() {
    let addr = R::serve(ServeOptions::default(), echo_handler());
    R::block_on(async {
        let (mut ws, response) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), ClientConfig::default()),
        )
        .await
        .unwrap();
        let ext = response
            .headers()
            .get("sec-websocket-extensions")
            .expect("deflate negotiated");
        assert!(
            ext.to_str().unwrap().starts_with("permessage-deflate"),
            "{}: {ext:?}",
            R::NAME
        );
        for text in json_stream(200) {
            ws.send(Message::text(text.as_str())).await.unwrap();
            assert_eq!(
                within::<R, _>("echo", ws.next()).await.unwrap().unwrap(),
                Message::text(text.as_str())
            );
        }
        let big = vec![7u8; 3 << 20];
        ws.send(Message::binary(big.clone())).await.unwrap();
        assert_eq!(
            within::<R, _>("echo", ws.next()).await.unwrap().unwrap(),
            Message::binary(big)
        );
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn no_context_takeover_round_trip<R: Runtime>() {
    let mut server_deflate = DeflateOptions::default();
    server_deflate.client_no_context_takeover = true;
    server_deflate.client_max_window_bits = Some(9);
    let options = ServeOptions {
        config: ServerConfig::default().deflate(Some(server_deflate)),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let mut client_deflate = DeflateOptions::default();
        client_deflate.server_no_context_takeover = true;
        client_deflate.server_max_window_bits = Some(10);
        let config = ClientConfig::default().deflate(Some(client_deflate));
        let (mut ws, response) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), config),
        )
        .await
        .unwrap();
        let ext = response.headers()["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .to_string();
        for param in [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits=10",
            "client_max_window_bits=9",
        ] {
            assert!(
                ext.contains(param),
                "{}: {param} missing from {ext}",
                R::NAME
            );
        }
        for text in json_stream(50) {
            ws.send(Message::text(text.as_str())).await.unwrap();
            assert_eq!(
                within::<R, _>("echo", ws.next()).await.unwrap().unwrap(),
                Message::text(text.as_str())
            );
        }
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn declined_when_disabled<R: Runtime>() {
    let options = ServeOptions {
        config: ServerConfig::default().deflate(None),
        ..ServeOptions::default()
    };
    let addr = R::serve(options, echo_handler());
    R::block_on(async {
        let (mut ws, response) = within::<R, _>(
            "connect",
            R::connect(request(&format!("ws://{addr}/")), ClientConfig::default()),
        )
        .await
        .unwrap();
        assert!(
            response.headers().get("sec-websocket-extensions").is_none(),
            "{}",
            R::NAME
        );
        ws.send(Message::text("plain")).await.unwrap();
        assert_eq!(
            within::<R, _>("echo", ws.next()).await.unwrap().unwrap(),
            Message::text("plain")
        );
        within::<R, _>("close", ws.close(None)).await.unwrap();
    });
}

fn bomb_is_1009_and_others_are_served<R: Runtime>() {
    let options = ServeOptions {
        config: ServerConfig::default().max_message_size(1 << 20),
        ..ServeOptions::default()
    };
    let (tx, mut rx) = mpsc::unbounded::<String>();
    let echo = echo_handler::<R::Server>();
    let handler: Handler<R::Server> = Arc::new(move |ws| {
        let (tx, echo) = (tx.clone(), echo.clone());
        Box::pin(async move {
            let _ = tx.unbounded_send("connection".into());
            echo(ws).await
        })
    });
    let addr = R::serve(options, handler);
    R::block_on(async {
        let url = format!("ws://{addr}/");
        let (mut bystander, _) = within::<R, _>(
            "connect",
            R::connect(request(&url), ClientConfig::default()),
        )
        .await
        .unwrap();
        let mut strong = DeflateOptions::default();
        strong.level = 9;
        let (mut attacker, _) = within::<R, _>(
            "connect",
            R::connect(request(&url), ClientConfig::default().deflate(Some(strong))),
        )
        .await
        .unwrap();
        assert_eq!(
            within::<R, _>("accepts", rx.next()).await.as_deref(),
            Some("connection")
        );
        // 16 MiB of zeros compresses to a few KiB and would inflate far past the 1 MiB limit.
        attacker
            .send(Message::binary(vec![0u8; 16 << 20]))
            .await
            .unwrap();
        match within::<R, _>("close", attacker.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG, "{}", R::NAME)
            }
            other => panic!("{}: expected close 1009, got {other:?}", R::NAME),
        }
        // The other client is unaffected and new ones are still accepted.
        bystander.send(Message::text("still here")).await.unwrap();
        assert_eq!(
            within::<R, _>("echo", bystander.next())
                .await
                .unwrap()
                .unwrap(),
            Message::text("still here")
        );
        let (mut late, _) = within::<R, _>(
            "connect",
            R::connect(request(&url), ClientConfig::default()),
        )
        .await
        .unwrap();
        late.send(Message::text("late")).await.unwrap();
        assert_eq!(
            within::<R, _>("echo", late.next()).await.unwrap().unwrap(),
            Message::text("late")
        );
    });
}

tests::for_each_runtime!(
    negotiated_round_trip,
    no_context_takeover_round_trip,
    declined_when_disabled,
    bomb_is_1009_and_others_are_served,
);
