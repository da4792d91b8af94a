//! Prints the data messages of a channel or pattern as they arrive:
//! `cargo run --example subscribe -- http://127.0.0.1:8080/cometd '/quotes/**'`
use cometwatch::bayeux::{Client, ClientConfig, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(channel)) = (args.next(), args.next()) else {
        eprintln!("usage: subscribe URL CHANNEL");
        std::process::exit(2);
    };
    let mut config = ClientConfig::new(url);
    config.subscriptions.push(channel);
    let client = Client::connect(config)?;
    for event in client.events() {
        match event {
            Event::Messages(batch) => {
                for message in &batch.messages {
                    println!("{} {}", message.channel, message.data.as_str());
                }
            }
            Event::StateChanged { state, reason, .. } => {
                eprintln!("{} {}", state.as_str(), reason.unwrap_or_default());
            }
            _ => {}
        }
    }
    Ok(())
}
