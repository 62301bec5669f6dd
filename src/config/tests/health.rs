//! Health checks (SPEC 1.4).

use super::*;

// ---------------------------------------------------------------------------------------
// Health checks (SPEC 1.4)
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_healthcheck_type_is_an_error() {
    for bad in ["http", "tcpp", "true"] {
        err_has(
            &web(&format!("healthcheck_type = {bad}")),
            &[
                "Program 'web': ",
                &format!("healthcheck_type '{bad}'"),
                "([program:web] healthcheck_type, line 3)",
            ],
        );
    }
}

#[test]
fn healthcheck_type_none_and_empty_mean_no_check() {
    for value in ["none", "NONE", ""] {
        let config = ok(&web(&format!("healthcheck_type = {value}")));
        assert_eq!(only_program(&config).health.check, HealthCheck::None);
    }
}

#[test]
fn healthcheck_type_is_case_insensitive() {
    let config = ok(&web("healthcheck_type = TCP\nhealthcheck_port = 80"));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 80,
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 80))),
        }
    );
    let config = ok(&web(
        "healthcheck_type = Script\nhealthcheck_command = true",
    ));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Script {
            command: "true".into()
        }
    );
}

#[test]
fn healthcheck_integers_are_converted_even_without_a_check() {
    for key in [
        "healthcheck_interval",
        "healthcheck_timeout",
        "healthcheck_retries",
        "healthcheck_start_period",
        "healthcheck_port",
    ] {
        for kind in ["", "healthcheck_type = none\n"] {
            err_has(
                &web(&format!("{kind}{key} = abc")),
                &[
                    &format!("{key} must be an integer, got 'abc'"),
                    &format!("[program:web] {key}"),
                ],
            );
        }
    }
}

#[test]
fn healthcheck_bounds_are_not_checked_without_a_check() {
    let config = ok(&web(
        "healthcheck_interval = 0\nhealthcheck_timeout = -1\nhealthcheck_retries = -2\n\
         healthcheck_start_period = -3\nhealthcheck_port = 70000",
    ));
    assert_eq!(only_program(&config).health.check, HealthCheck::None);
}

#[test]
fn healthcheck_non_negative_checks_with_a_check() {
    for kind in [
        "healthcheck_type = tcp\nhealthcheck_port = 80",
        "healthcheck_type = script\nhealthcheck_command = true",
    ] {
        for key in [
            "healthcheck_interval",
            "healthcheck_timeout",
            "healthcheck_retries",
            "healthcheck_start_period",
        ] {
            err_has(
                &web(&format!("{kind}\n{key} = -1")),
                &[
                    &format!("Program 'web': {key} must be non-negative, got -1"),
                    &format!("[program:web] {key}, line 5"),
                ],
            );
        }
    }
}

#[test]
fn healthcheck_interval_must_be_at_least_one_with_a_check() {
    for kind in [
        "healthcheck_type = tcp\nhealthcheck_port = 80",
        "healthcheck_type = script\nhealthcheck_command = true",
    ] {
        err_has(
            &web(&format!("{kind}\nhealthcheck_interval = 0")),
            &[
                "Program 'web': healthcheck_interval must be at least 1",
                "([program:web] healthcheck_interval, line 5)",
            ],
        );
        let config = ok(&web(&format!(
            "{kind}\nhealthcheck_interval = 1\nhealthcheck_timeout = 0"
        )));
        let health = &only_program(&config).health;
        assert_eq!(health.interval, Duration::from_secs(1));
        assert_eq!(health.timeout, Duration::ZERO);
    }
}

#[test]
fn tcp_check_needs_a_port_in_range() {
    for port_line in ["", "healthcheck_port =\n"] {
        err_has(
            &web(&format!("healthcheck_type = tcp\n{port_line}")),
            &[
                "Program 'web': healthcheck_port is required for TCP health checks",
                "[program:web] healthcheck_port",
            ],
        );
    }
    for bad in ["0", "65536", "-1", "100000"] {
        err_has(
            &web(&format!("healthcheck_type = tcp\nhealthcheck_port = {bad}")),
            &[
                "Program 'web': healthcheck_port must be between 1 and 65535",
                "([program:web] healthcheck_port, line 4)",
            ],
        );
    }
    for good in [1u16, 8080, 65535] {
        let config = ok(&web(&format!(
            "healthcheck_type = tcp\nhealthcheck_port = {good}"
        )));
        assert_eq!(
            only_program(&config).health.check,
            HealthCheck::Tcp {
                host: "127.0.0.1".into(),
                port: good,
                addr: Some(SocketAddr::from(([127, 0, 0, 1], good))),
            }
        );
    }
}

#[test]
fn tcp_host_accepts_ipv6_literals_and_leaves_names_to_each_check() {
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = ::1",
    ));
    match &only_program(&config).health.check {
        HealthCheck::Tcp { addr, .. } => {
            assert_eq!(*addr, Some(SocketAddr::from((Ipv6Addr::LOCALHOST, 80))))
        }
        other => panic!("{other:?}"),
    }
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = [::1]",
    ));
    match &only_program(&config).health.check {
        HealthCheck::Tcp { addr, .. } => {
            assert_eq!(*addr, Some(SocketAddr::from((Ipv6Addr::LOCALHOST, 80))))
        }
        other => panic!("{other:?}"),
    }
    // A name is not looked up at load (a reload would block on DNS): each check resolves
    // it, and one that does not resolve fails that check.
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = no-such-host.invalid",
    ));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Tcp {
            host: "no-such-host.invalid".into(),
            port: 80,
            addr: None,
        }
    );
}

#[test]
fn tcp_host_defaults_and_can_be_set() {
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host = localhost",
    ));
    // A name is resolved at each check, not at load.
    match &only_program(&config).health.check {
        HealthCheck::Tcp { host, port, addr } => {
            assert_eq!((host.as_str(), *port, *addr), ("localhost", 80, None));
        }
        other => panic!("{other:?}"),
    }
    let config = ok(&web(
        "healthcheck_type = tcp\nhealthcheck_port = 80\nhealthcheck_host =",
    ));
    assert_eq!(
        only_program(&config).health.check,
        HealthCheck::Tcp {
            host: "127.0.0.1".into(),
            port: 80,
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 80))),
        }
    );
}

#[test]
fn script_check_needs_a_command() {
    for command_line in ["", "healthcheck_command =\n"] {
        err_has(
            &web(&format!("healthcheck_type = script\n{command_line}")),
            &[
                "Program 'web': healthcheck_command required for script checks",
                "[program:web] healthcheck_command",
            ],
        );
    }
    let config = ok(&web(
        "healthcheck_type = script\nhealthcheck_command = curl -fs http://127.0.0.1/ || exit 1\n\
         healthcheck_interval = 2\nhealthcheck_timeout = 3\nhealthcheck_retries = 4\n\
         healthcheck_start_period = 5",
    ));
    assert_eq!(
        only_program(&config).health,
        Health {
            check: HealthCheck::Script {
                command: "curl -fs http://127.0.0.1/ || exit 1".into()
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(3),
            retries: 4,
            start_period: Duration::from_secs(5),
        }
    );
}

#[test]
fn tcp_check_ignores_a_missing_script_command_and_vice_versa() {
    ok(&web("healthcheck_type = tcp\nhealthcheck_port = 1"));
    ok(&web(
        "healthcheck_type = script\nhealthcheck_command = x\nhealthcheck_port = 0",
    ));
}
