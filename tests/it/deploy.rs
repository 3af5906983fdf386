//! The deployment files: the systemd unit passes `systemd-analyze verify` without a warning,
//! and the container image runs as an unprivileged user, keeps its data in a volume and checks
//! its health where the service answers. (No container engine can build images on the
//! development machines, so the Dockerfile is checked as text.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The instructions of the Dockerfile's last stage, continuation lines joined:
/// (`INSTRUCTION`, arguments).
fn final_stage(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (word, rest) = l.split_once(char::is_whitespace)?;
            Some((word.to_ascii_uppercase(), rest.trim().to_owned()))
        })
        .collect();
    let last_from = instructions
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .expect("a FROM instruction");
    instructions[last_from..].to_vec()
}

fn argument<'a>(stage: &'a [(String, String)], instruction: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|(word, _)| word == instruction)
        .map(|(_, args)| args.as_str())
        .collect()
}

#[test]
fn the_image_runs_unprivileged_with_a_data_volume_and_a_health_check_on_its_listen_port() {
    let stage = final_stage(&repository_file("Dockerfile"));
    let users = argument(&stage, "USER");
    assert_eq!(users.len(), 1, "one USER in the runtime stage: {users:?}");
    assert!(
        !matches!(users[0], "root" | "0" | "0:0" | "root:root"),
        "the image runs as {}",
        users[0]
    );
    let volumes = argument(&stage, "VOLUME").join(" ");
    assert!(volumes.contains("\"/data\""), "VOLUME {volumes}");
    let env = argument(&stage, "ENV").join(" ");
    assert!(
        env.contains("HIGHWATER__STORE__PATH=/data/"),
        "the database lives in the volume: {env}"
    );
    let listen = env
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("HIGHWATER__HTTP__LISTEN="))
        .expect("the image sets the health endpoint's address");
    let port = listen.rsplit(':').next().expect("a port");
    let health = argument(&stage, "HEALTHCHECK");
    assert_eq!(health.len(), 1, "one HEALTHCHECK: {health:?}");
    assert!(
        health[0].contains(&format!("http://127.0.0.1:{port}/healthz")),
        "HEALTHCHECK {}",
        health[0]
    );
    assert!(argument(&stage, "EXPOSE").contains(&port));
    assert!(argument(&stage, "ENTRYPOINT")[0].contains("/usr/local/bin/highwater"));
    assert_eq!(argument(&stage, "CMD"), ["[\"run\"]"]);
}

#[test]
fn compose_uses_the_image_with_a_named_volume_for_data_and_the_token_from_the_environment() {
    let compose = repository_file("compose.yaml");
    assert!(compose.contains("build: ."));
    assert!(compose.contains("- highwater-data:/data"));
    assert!(compose.contains("DISCORD_TOKEN: ${DISCORD_TOKEN:-}"));
    assert!(
        !compose.contains("DISCORD_TOKEN: \"") && !compose.contains("DISCORD_TOKEN: ey"),
        "no token is written into compose.yaml"
    );
}

#[test]
fn compose_also_runs_two_instances_on_a_postgres_service_without_a_written_password() {
    let compose = repository_file("compose.yaml");
    for service in [
        "  postgres:\n",
        "  highwater-a: &instance\n",
        "  highwater-b:\n",
    ] {
        assert!(compose.contains(service), "no {service:?}");
    }
    assert_eq!(compose.matches("profiles: [\"postgres\"]").count(), 2);
    assert!(compose.contains("<<: *instance"), "b is a copy of a");
    assert!(compose.contains(
        "HIGHWATER__STORE__URL: postgres://highwater:${POSTGRES_PASSWORD:-highwater}@postgres:5432/highwater"
    ));
    assert!(
        compose.contains("HIGHWATER__STORE__PATH: \"\""),
        "the image's SQLite path is taken back"
    );
    assert!(compose.contains("POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-highwater}"));
    assert!(compose.contains("condition: service_healthy"));
    // One bot, its two shards split: a runs shard 0, b overrides it with shard 1.
    assert!(compose.contains("HIGHWATER__DISCORD__TOTAL_SHARDS: \"2\""));
    assert!(compose.contains("HIGHWATER__DISCORD__SHARDS: \"0\""));
    assert!(compose.contains(
        "    environment:\n      <<: *instance-env\n      HIGHWATER__DISCORD__SHARDS: \"1\"\n"
    ));
}

#[test]
fn the_systemd_unit_verifies_without_a_warning() {
    let unit = repository_file("deploy/highwater.service");
    // The unit names the installed binary; verify checks that it is executable, so the copy
    // under test names the one cargo built.
    let binary = env!("CARGO_BIN_EXE_highwater");
    assert!(unit.contains("ExecStart=/usr/local/bin/highwater run"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path: PathBuf = dir.path().join("highwater.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/highwater", binary)).expect("write");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze runs (it comes with systemd, which these machines have)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "verify failed: {stderr}");
    assert_eq!(stderr.trim(), "", "verify warned");
    // The service's own user reads no file under /etc: systemd hands it the config.
    assert!(unit.contains("DynamicUser=yes"));
    assert!(unit.contains("LoadCredential=highwater.toml:/etc/highwater/highwater.toml"));
    assert!(unit.contains("Environment=HIGHWATER_CONFIG=%d/highwater.toml"));
    assert!(unit.contains("EnvironmentFile=-/etc/highwater/secrets.env"));
}

#[test]
fn the_readme_install_steps_install_what_the_unit_reads() {
    let readme = repository_file("README.md");
    for step in [
        "sudo install -D -m 0600 config/highwater.toml /etc/highwater/highwater.toml",
        "sudo install -D -m 0600 config/secrets.env.example /etc/highwater/secrets.env",
        "sudo cp deploy/highwater.service /etc/systemd/system/",
    ] {
        assert!(readme.contains(step), "README lacks: {step}");
    }
}
