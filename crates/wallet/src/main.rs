//! `tessera-wallet`: the wallet without a window, for scripts, support staff and tests, over
//! the same library and the same OS keystore as the app.
//!
//! Exit codes: 0 done, 1 refused (by the issuer, the liveness or face check, or the PIN),
//! 2 an error (keystore, network, files, usage).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tessera_credential::claims::Tier;
use tessera_oidc::sign_in::SignInLink;
use tessera_wallet::client::{IssuerClient, IssuerError};
use tessera_wallet::keys::TpmKeys;
use tessera_wallet::keystore::OsKeystore;
use tessera_wallet::pin::{PinError, check_new_pin};
use tessera_wallet::trust::{TrustAnchor, TrustError};
use tessera_wallet::wallet::{Capture, RecordedFrames, Wallet, WalletError};

#[derive(Parser)]
#[command(
    name = "tessera-wallet",
    version,
    about = "The Tessera wallet, headless"
)]
struct Cli {
    /// The issuer's base URL.
    #[arg(
        long,
        env = "TESSERA_ISSUER_URL",
        default_value = "http://127.0.0.1:8443"
    )]
    issuer: String,
    /// The ID authority's trust-list public key (SPKI PEM), needed to enrol and renew: the
    /// issuer's challenges and credentials must verify against it. Take it from the
    /// authority, never from the issuer URL itself (a relay controls that channel).
    #[arg(long, value_name = "FILE", env = "TESSERA_TRUST_LIST_KEY")]
    trust_list_key: Option<PathBuf>,
    /// Where non-secret files (the presentation history) live.
    #[arg(long, env = "TESSERA_WALLET_DIR")]
    data_dir: Option<PathBuf>,
    /// The keystore service name the wallet's entries are filed under.
    #[arg(
        long,
        env = "TESSERA_WALLET_KEYSTORE",
        default_value = "tessera-wallet"
    )]
    keystore_service: String,
    /// Where the device keys live: `tpm` (a TPM 2.0: TPM2TOOLS_TCTI, else /dev/tpmrm0),
    /// `software` (in the keystore vault), or `auto`: the holder that made the stored
    /// vault's keys, else the TPM if TPM2TOOLS_TCTI is set or /dev/tpmrm0 exists, else
    /// software.
    #[arg(long, value_enum, env = "TESSERA_WALLET_KEYS", default_value = "auto")]
    keys: KeysArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum TierArg {
    /// Only "an enrolled real person, over 18": no name, no ID number.
    #[value(alias = "age_only")]
    AgeOnly,
    /// Masked name and ID number, over 18.
    Lightweight,
    /// Full details: needs the PIN and a face check.
    Upgraded,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KeysArg {
    Auto,
    Software,
    Tpm,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Png,
    Svg,
}

#[derive(Subcommand)]
enum Command {
    /// Enrols this device: DIR holds recorded frames per action (front/, left/, right/, blink/).
    Enrol {
        /// The 18-character ID number.
        #[arg(long)]
        id_number: String,
        /// Recorded frames, one folder per action.
        #[arg(long)]
        frames: PathBuf,
        /// Move an enrolment from another (lost) device to this one.
        #[arg(long)]
        replace: bool,
        /// Read a 6-digit PIN for the upgraded tier from standard input.
        #[arg(long)]
        pin_stdin: bool,
    },
    /// State, tiers and expiry, as JSON.
    Status,
    /// Prints (or writes) a QR code for a tier.
    Show {
        /// Which tier.
        #[arg(long, value_enum)]
        tier: TierArg,
        /// Read the PIN from standard input (upgraded tier).
        #[arg(long)]
        pin_stdin: bool,
        /// Recorded frames for the face check (upgraded tier).
        #[arg(long)]
        face_frames: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fetches fresh one-time credentials (no face check) and retires the shown ones;
    /// `show` does this by itself when fewer than 3 of a kind are left.
    Refill,
    /// Renews the credentials (new device key; the old ones are revoked).
    Renew {
        /// Recorded frames, one folder per action.
        #[arg(long)]
        frames: PathBuf,
        /// Read the PIN from standard input: needed when the keys are in the TPM and a PIN is
        /// set (the new upgraded key is made with it).
        #[arg(long)]
        pin_stdin: bool,
    },
    /// Sets the first PIN (read from standard input), or changes it: weak PINs (runs, one
    /// digit, repeats, the birth date, the most common PINs) are refused.
    SetPin {
        /// Changing a PIN needs the current one: standard input holds it on the first line
        /// and the new PIN on the second.
        #[arg(long)]
        current_pin_stdin: bool,
    },
    /// Signs in to a website or app: LINK is the tessera://sign-in link, or the text of the
    /// sign-in page's QR code. Prints who asks and for what; approves with --yes (or when
    /// "yes" is typed). Exit 0 approved, 1 refused or expired, 2 a usage or keystore error.
    SignIn {
        /// The link or QR text.
        link: String,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
        /// The number the sign-in page shows (a QR code from another device carries none;
        /// without this option it is asked for).
        #[arg(long)]
        match_code: Option<u8>,
        /// Read the PIN from the first line of standard input (upgraded sign-ins).
        #[arg(long)]
        pin_stdin: bool,
        /// Recorded frames for the face check (upgraded sign-ins).
        #[arg(long)]
        face_frames: Option<PathBuf>,
    },
    /// The presentations made (or, with --sign-ins, the sign-ins approved), as JSON.
    History {
        /// The sign-ins: which website or app, when, what was shared.
        #[arg(long)]
        sign_ins: bool,
    },
    /// Removes this wallet's keys, credentials and history.
    Reset {
        /// Do not ask.
        #[arg(long)]
        yes: bool,
        /// Read the PIN from the first line of standard input: needed while an ID is held
        /// and a PIN is set (without --yes, the answer "yes" goes on the next line).
        #[arg(long)]
        pin_stdin: bool,
    },
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn fail(e: &WalletError) -> ExitCode {
    eprintln!("tessera-wallet: {e}");
    let refused = matches!(
        e,
        WalletError::Issuer(IssuerError::Refused(_))
            | WalletError::Liveness(_)
            | WalletError::FaceMismatch
            | WalletError::Quality(_)
            | WalletError::Pin(_)
            | WalletError::Unlock(_)
            | WalletError::State(_)
    );
    ExitCode::from(if refused { 1 } else { 2 })
}

fn read_pin() -> Result<String, WalletError> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| {
        WalletError::Unlock(format!("cannot read the PIN from standard input: {e}"))
    })?;
    Ok(s.trim().to_owned())
}

/// One line of standard input (a PIN when a command needs two answers); never echoed or
/// logged.
fn read_line(what: &str) -> Result<String, WalletError> {
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .map_err(|e| WalletError::Unlock(format!("cannot read {what} from standard input: {e}")))?;
    Ok(s.trim().to_owned())
}

/// Says how to give the PIN when a command was refused for the lack of it.
fn hint_pin(e: &WalletError, how: &str) {
    if matches!(e, WalletError::Pin(PinError::Required)) {
        eprintln!("tessera-wallet: a PIN is set on this device: {how}");
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tessera-wallet")
}

async fn run(cli: Cli) -> Result<(), WalletError> {
    let store = OsKeystore::open(&cli.keystore_service)?;
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let wallet = Wallet::open(Box::new(store), &data_dir)?;
    let use_tpm = match cli.keys {
        KeysArg::Tpm => true,
        KeysArg::Software => false,
        KeysArg::Auto => match wallet.stored_key_holder()? {
            Some(holder) => holder == "tpm",
            None => TpmKeys::available(),
        },
    };
    let wallet = if use_tpm {
        let keys = TpmKeys::open().map_err(|e| {
            WalletError::Frames(format!("the device keys are to be in the TPM, but: {e}"))
        })?;
        wallet.with_key_holder(Box::new(keys))
    } else {
        wallet
    };
    let client = || -> Result<IssuerClient, WalletError> {
        let anchor = cli
            .trust_list_key
            .as_deref()
            .ok_or_else(|| TrustError::Anchor {
                source_name: "--trust-list-key".into(),
                detail: "not given; the ID authority's trust-list key (SPKI PEM) is needed to talk to the issuer: --trust-list-key FILE or TESSERA_TRUST_LIST_KEY".into(),
            })?;
        Ok(
            IssuerClient::new(&cli.issuer, TrustAnchor::from_file(anchor)?)?
                .remembering_clock_in(wallet.clock_path()),
        )
    };
    match cli.command {
        Command::Enrol {
            id_number,
            frames,
            replace,
            pin_stdin,
        } => {
            let pin = if pin_stdin { Some(read_pin()?) } else { None };
            // Refuse a PIN that cannot be set before enrolling, not after (the birth date
            // is known only once the credential is in).
            if let Some(pin) = &pin {
                check_new_pin(pin, None)?;
                if wallet.status(now())?.pin_set {
                    let e = WalletError::Pin(PinError::Required);
                    hint_pin(&e, "change it with set-pin --current-pin-stdin");
                    return Err(e);
                }
            }
            let status = wallet
                .enrol(
                    &client()?,
                    &id_number,
                    &mut RecordedFrames(frames.clone()),
                    replace,
                    now(),
                )
                .await?;
            if let Some(pin) = pin {
                wallet.set_pin(None, &pin, now())?;
            }
            let _ = status;
            println!(
                "{}",
                serde_json::to_string_pretty(&wallet.status(now())?).unwrap_or_default()
            );
        }
        Command::Status => {
            let status = wallet.status(now())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&status).unwrap_or_default()
            );
            if let Some(c) = status.clock.filter(|c| c.is_off()) {
                eprintln!("{}", clock_warning(c.offset_seconds));
            }
        }
        Command::Show {
            tier,
            pin_stdin,
            face_frames,
            format,
            out,
        } => {
            let tier = match tier {
                TierArg::AgeOnly => Tier::AgeOnly,
                TierArg::Lightweight => Tier::Lightweight,
                TierArg::Upgraded => Tier::Upgraded,
            };
            let pin = if pin_stdin { Some(read_pin()?) } else { None };
            let mut face = face_frames.map(RecordedFrames);
            let shown = wallet.show(
                tier,
                pin.as_deref(),
                face.as_mut().map(|f| f as &mut dyn Capture),
                now(),
            )?;
            let bytes = match format {
                Format::Text => format!("{}\n", shown.text).into_bytes(),
                Format::Png | Format::Svg => {
                    let qr = tessera_qr::encode(&shown.text).map_err(|e| {
                        WalletError::Frames(format!("cannot draw the QR code: {e}"))
                    })?;
                    match format {
                        Format::Png => qr.to_png(6),
                        _ => qr.to_svg(6).into_bytes(),
                    }
                }
            };
            match out {
                Some(path) => std::fs::write(&path, bytes)
                    .map_err(|e| WalletError::Frames(format!("{}: {e}", path.display())))?,
                None => {
                    use std::io::Write;
                    std::io::stdout()
                        .write_all(&bytes)
                        .map_err(|e| WalletError::Frames(e.to_string()))?;
                }
            }
            eprintln!("valid until {} (regenerate every 30 s)", shown.expires_at);
            if shown.linkable {
                eprintln!("{LINKABLE}");
            }
            // Top up the one-time credentials while online; the code is already out, so
            // a failure here only postpones the refill.
            if wallet.refill_due(now())? {
                match client() {
                    Ok(c) => match wallet.refill(&c, now()).await {
                        Ok(r) => {
                            eprintln!("refilled: {} new codes ({} retired)", r.issued, r.retired)
                        }
                        Err(e) => eprintln!("could not refill now ({e}); will try again next time"),
                    },
                    Err(e) => eprintln!("could not refill now ({e})"),
                }
            }
        }
        Command::Refill => {
            let r = wallet.refill(&client()?, now()).await?;
            println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        }
        Command::Renew { frames, pin_stdin } => {
            let pin = if pin_stdin { Some(read_pin()?) } else { None };
            wallet
                .renew_with_pin(
                    &client()?,
                    &mut RecordedFrames(frames.clone()),
                    pin.as_deref(),
                    now(),
                )
                .await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&wallet.status(now())?).unwrap_or_default()
            );
        }
        Command::SetPin { current_pin_stdin } => {
            let (current, pin) = if current_pin_stdin {
                (
                    Some(read_line("the current PIN")?),
                    read_line("the new PIN")?,
                )
            } else {
                (None, read_pin()?)
            };
            wallet
                .set_pin(current.as_deref(), &pin, now())
                .inspect_err(|e| {
                    hint_pin(
                        e,
                        "give the current PIN with --current-pin-stdin (current PIN on the first line, new PIN on the second)",
                    )
                })?;
            eprintln!("PIN set");
        }
        Command::History { sign_ins } => {
            let json = if sign_ins {
                serde_json::to_string_pretty(&wallet.sign_in_history()?)
            } else {
                serde_json::to_string_pretty(&wallet.history()?)
            };
            println!("{}", json.unwrap_or_default());
        }
        Command::SignIn {
            link,
            yes,
            match_code,
            pin_stdin,
            face_frames,
        } => {
            let link = SignInLink::parse(&link)?;
            let client = client()?;
            let consent = wallet.fetch_sign_in(&client, &link, now()).await?;
            let r = &consent.request;
            eprintln!(
                "{} asks you to sign in ({}).",
                consent.client_name(false),
                r.client_id
            );
            eprintln!("It will receive:");
            for line in consent.shared(false) {
                eprintln!("  - {line}");
            }
            if consent.tier == Tier::Upgraded {
                eprintln!("This sign-in needs your PIN and a face check.");
            }
            let pin = if pin_stdin {
                Some(read_line("the PIN")?)
            } else {
                None
            };
            let code = match (match_code, consent.match_code) {
                (Some(c), _) => Some(c),
                (None, Some(_)) => None,
                (None, None) => {
                    let choices: Vec<String> = r.match_choices.iter().map(u8::to_string).collect();
                    eprint!(
                        "Which number does the sign-in page show? ({}): ",
                        choices.join(", ")
                    );
                    Some(read_line("the number")?.parse::<u8>().map_err(|_| {
                        WalletError::Unlock("that is not one of the numbers offered".into())
                    })?)
                }
            };
            if !yes {
                eprint!("Approve? Type yes: ");
                if read_line("the answer")? != "yes" {
                    wallet.refuse_sign_in(&client, &consent).await?;
                    return Err(WalletError::Unlock(
                        "sign-in refused; nothing was shared".into(),
                    ));
                }
            }
            let unlock = match consent.tier {
                Tier::Upgraded => {
                    let mut face = face_frames.map(RecordedFrames);
                    Some(wallet.unlock_upgraded(
                        pin.as_deref(),
                        face.as_mut().map(|f| f as &mut dyn Capture),
                        now(),
                    )?)
                }
                Tier::Lightweight | Tier::AgeOnly => None,
            };
            let record = wallet
                .approve_sign_in(&client, &consent, code, unlock.as_ref(), now())
                .await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&record).unwrap_or_default()
            );
            eprintln!("signed in to {}", consent.client_name(false));
        }
        Command::Reset { yes, pin_stdin } => {
            let pin = if pin_stdin {
                Some(read_line("the PIN")?)
            } else {
                None
            };
            if !yes {
                eprint!("Remove this ID, its keys and its history from this device? Type yes: ");
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if answer.trim() != "yes" {
                    eprintln!("nothing removed");
                    return Ok(());
                }
            }
            wallet
                .reset(pin.as_deref(), now())
                .inspect_err(|e| hint_pin(e, "give it with --pin-stdin"))?;
            eprintln!("removed");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera-wallet: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// The warning for a device clock `offset` seconds from the issuer's (issuer minus device).
/// Said when a code reuses a one-time credential (offline, none unused left).
const LINKABLE: &str = "this code can be linked to your earlier ones until you are online: connect, and the wallet fetches fresh ones (tessera-wallet refill)";

fn clock_warning(offset: i64) -> String {
    let minutes = (offset.abs() + 30) / 60;
    let amount = if minutes == 0 {
        format!("{} s", offset.abs())
    } else {
        format!("about {minutes} min")
    };
    let side = if offset < 0 { "ahead of" } else { "behind" };
    format!(
        "warning: this device's clock is {amount} {side} the ID authority's; desks will refuse \
         its codes as expired or not yet valid: set the date and time automatically"
    )
}
