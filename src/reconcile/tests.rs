use super::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn global(pidfile: Option<&str>, socket: &str, state_file: Option<&str>) -> Global {
    Global {
        pidfile: pidfile.map(PathBuf::from),
        socket: PathBuf::from(socket),
        state_file: state_file.map(PathBuf::from),
        ..Global::default()
    }
}

fn record(pid: i32, token: &str) -> Record {
    Record {
        name: "web".into(),
        pid,
        pgid: pid,
        token: token.into(),
        pdeathsig: true,
        reconcile: Reconcile::Auto,
    }
}

#[test]
fn state_path_is_per_supervisor() -> TestResult {
    let path = |p, s, f| state_path(&global(p, s, f));
    assert_eq!(
        path(Some("/var/run/alpha.pid"), "/x.sock", None),
        PathBuf::from("/var/run/.alpha.state.json")
    );
    assert_eq!(
        path(Some("/var/run/beta.pidfile"), "/x.sock", None),
        PathBuf::from("/var/run/.beta.state.json")
    );
    assert_eq!(
        path(Some("/var/run/.pid"), "/x.sock", None),
        PathBuf::from("/var/run/.supervice.state.json")
    );
    assert_eq!(
        path(None, "/run/user/1000/app.sock", None),
        PathBuf::from("/run/user/1000/.app.state.json"),
        "without a pidfile the socket path decides, not the cwd"
    );
    assert_eq!(
        path(Some("/a.pid"), "/b.sock", Some("/c/state.json")),
        PathBuf::from("/c/state.json")
    );
    Ok(())
}

#[test]
fn stat_parsing_survives_odd_command_names() -> TestResult {
    let line = "4242 (we) ird (name)) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 \
                98765 2273280 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    assert_eq!(
        parse_stat(line),
        Some(ProcStat {
            ppid: 1,
            pgid: 4242,
            sid: 4242,
            starttime: 98765,
            zombie: false,
        })
    );
    assert_eq!(parse_stat("garbage"), None);
    let zombie = line.replace(")) S ", ")) Z ");
    assert!(parse_stat(&zombie).ok_or("unparsed")?.zombie);
    Ok(())
}

#[test]
fn token_of_a_live_process_is_stable_and_start_times_grow() -> TestResult {
    let me = std::process::id() as i32;
    let a = read_stat(me).map(|s| token_of(&s)).ok_or("no stat")?;
    let b = read_stat(me).map(|s| token_of(&s)).ok_or("no stat")?;
    assert_eq!(a, b);
    assert!(a.starts_with("starttime:") && a.contains(" pgid:"), "{a}");
    let mut child = Command::new("sleep").arg("5").spawn()?;
    let other = read_stat(child.id() as i32).ok_or("no stat")?;
    child.kill()?;
    child.wait()?;
    // Start times only grow, so a pid recycled later never matches an older token.
    assert!(other.starttime >= read_stat(me).ok_or("no stat")?.starttime);
    assert_eq!(read_stat(0), None);
    assert_eq!(read_stat(-5), None);
    Ok(())
}

#[test]
fn encode_decode_round_trip() -> TestResult {
    let records = vec![
        record(10, "starttime:5 pgid:10"),
        Record {
            name: "odd \"name\" ✓".into(),
            reconcile: Reconcile::Warn,
            pdeathsig: false,
            ..record(11, "starttime:6 pgid:11")
        },
    ];
    let text = encode(&records, "boot-1");
    let value: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(value["version"], 1);
    assert_eq!(value["children"][0]["token"], "starttime:5 pgid:10");
    assert_eq!(decode(&text, "boot-1")?, (records, vec![]));
    Ok(())
}

#[test]
fn reads_supervice_written_files() -> TestResult {
    let text = r#"{"version": 1, "children": [{"name": "a", "pid": 9435, "pgid": 9435,
        "token": "starttime:33291 pgid:9435", "pdeathsig": true}]}"#;
    let (records, problems) = decode(text, "any")?;
    assert!(problems.is_empty());
    assert_eq!(
        records[0].reconcile,
        Reconcile::Auto,
        "missing reconcile means auto"
    );
    assert_eq!(records[0].pid, 9435);
    Ok(())
}

#[test]
fn corrupt_or_foreign_files_are_errors_and_bad_records_are_skipped() -> TestResult {
    assert!(decode("{not json", "b").is_err());
    assert!(decode("[]", "b").is_err());
    assert!(decode(r#"{"version": 2, "children": []}"#, "b").is_err());
    let text = r#"{"version": 1, "children": [{"name": "a"}, {"name": "b", "pid": 7,
        "pgid": 7, "token": "starttime:1 pgid:7", "pdeathsig": false, "reconcile": "kill"}]}"#;
    let (records, problems) = decode(text, "b")?;
    assert_eq!(records.len(), 1, "the good record is kept");
    assert_eq!(records[0].reconcile, Reconcile::Kill);
    assert_eq!(problems.len(), 1);
    Ok(())
}

#[test]
fn records_from_before_a_reboot_are_dropped() -> TestResult {
    let text = encode(&[record(10, "starttime:5 pgid:10")], "old-boot");
    let (records, problems) = decode(&text, "new-boot")?;
    assert!(records.is_empty());
    assert_eq!(problems, vec!["written before the last reboot"]);
    Ok(())
}

#[test]
fn decision_table() -> TestResult {
    let r = record(77, "t");
    let kill = |reason: &str| Verdict::Kill(reason.to_string());
    let warn = |reason: &str| Verdict::Warn(reason.to_string());
    assert_eq!(
        decide(&r, &Found::Ours, (Reconcile::Off, true)),
        Verdict::Skip(None)
    );
    assert_eq!(
        decide(&r, &Found::Gone, (Reconcile::Kill, true)),
        Verdict::Skip(None)
    );
    assert_eq!(
        decide(&r, &Found::Recycled, (Reconcile::Kill, true)),
        Verdict::Skip(Some(
            "pid 77 is alive but is NOT ours (start token differs; pid was recycled)".into()
        ))
    );
    assert_eq!(
        decide(&r, &Found::Ours, (Reconcile::Warn, true)),
        warn("reconcile=warn for this program")
    );
    assert_eq!(
        decide(&r, &Found::Ours, (Reconcile::Kill, false)),
        kill("reconcile=kill for this program")
    );
    assert_eq!(
        decide(&r, &Found::Ours, (Reconcile::Auto, true)),
        kill("orphan of a previous supervisor (pdeathsig was requested)")
    );
    assert_eq!(
        decide(&r, &Found::Ours, (Reconcile::Auto, false)),
        warn(
            "orphan of a previous supervisor; pdeathsig=false so it is left running -- \
             starting this program will create duplicates"
        )
    );
    assert_eq!(
        decide(
            &r,
            &Found::GroupRemains(vec![1, 2]),
            (Reconcile::Auto, true)
        ),
        kill(
            "orphan of a previous supervisor (pdeathsig was requested); pid 77 is gone but \
             2 process(es) of its group remain"
        )
    );
    Ok(())
}

#[test]
fn find_tells_ours_from_recycled_and_gone() -> TestResult {
    let mut child = Command::new("sleep").arg("30").spawn()?;
    let pid = child.id() as i32;
    let token = token_of(&read_stat(pid).ok_or("no stat")?);
    assert_eq!(
        find(&Record {
            pgid: 0,
            ..record(pid, &token)
        }),
        Found::Ours
    );
    let wrong = "starttime:1 pgid:1";
    assert_eq!(find(&record(pid, wrong)), Found::Recycled);
    child.kill()?;
    child.wait()?;
    assert_eq!(
        find(&Record {
            pgid: 0,
            ..record(pid, &token)
        }),
        Found::Gone
    );
    Ok(())
}

#[test]
fn find_sees_the_group_a_dead_leader_left_behind() -> TestResult {
    // A session leader that starts a grandchild and then exits, as a child killed by
    // pdeathsig leaves its own children behind.
    let mut leader = Command::new("setsid")
        .args(["sh", "-c", "sleep 30.25 & echo $!; read x"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = leader.id() as i32;
    let mut line = String::new();
    BufReader::new(leader.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let grandchild: i32 = line.trim().parse()?;
    let token = spawn_token(pid).ok_or("no token")?;
    drop(leader.stdin.take());
    leader.wait()?;
    let found = find(&record(pid, &token));
    // Clean up before asserting, whatever happened.
    // SAFETY: kill(2) of the pid this test started.
    unsafe {
        libc::kill(grandchild, libc::SIGKILL);
    }
    assert_eq!(found, Found::GroupRemains(vec![grandchild]));
    Ok(())
}

#[test]
fn save_is_atomic_and_private() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("supervice-state-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let path = dir.join(".s.state.json");
    let mut file = StateFile::new(path.clone());
    assert_eq!(
        file.load(),
        (vec![], vec![]),
        "missing file is empty, quietly"
    );
    assert_eq!(file.save(&[record(5, "starttime:1 pgid:5")]), None);
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    let names: Vec<String> = fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![".s.state.json"], "no temp file left behind");
    assert_eq!(file.load().0.len(), 1);
    fs::write(&path, "{corrupt")?;
    let (records, problems) = file.load();
    assert!(records.is_empty());
    assert!(problems[0].contains("is corrupt"), "{problems:?}");
    // An unwritable place is reported once, then recovery once.
    let mut bad = StateFile::new(dir.join("missing-dir").join("s.json"));
    assert!(bad
        .save(&[])
        .ok_or("no message")?
        .contains("cannot write state file"));
    assert_eq!(bad.save(&[]), None);
    fs::create_dir(dir.join("missing-dir"))?;
    assert!(bad.save(&[]).ok_or("no message")?.contains("written again"));
    fs::remove_dir_all(&dir)?;
    Ok(())
}
