//! The alerts panel (active alerts with acknowledge and silence buttons,
//! history below) and the toasts for new firing alerts.

use egui::{Color32, RichText};

use super::model::{TOAST_SECONDS, Toast};
use super::plotting::format_clock;
use crate::store::Store;
use crate::store::alerts::{AlertEvent, AlertKey, AlertState, Severity};

/// What the user asked for in the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertAction {
    /// Acknowledge an alert.
    Acknowledge(AlertKey),
    /// Silence a rule for an hour.
    Silence(usize),
    /// Dismiss a server alarm.
    Dismiss(u64),
}

/// The colour of a severity.
pub fn severity_color(severity: Severity) -> Color32 {
    match severity {
        Severity::Critical => Color32::from_rgb(220, 50, 50),
        Severity::Warning => Color32::from_rgb(235, 160, 30),
        Severity::Info => Color32::from_rgb(70, 140, 230),
    }
}

/// Draws the panel; returns what the user asked for.
pub fn alerts_ui(ui: &mut egui::Ui, store: &Store, now_ms: u64) -> Vec<AlertAction> {
    let mut actions = Vec::new();
    let active = store.alerts().active();
    ui.heading(format!("Active alerts ({})", active.len()));
    egui::ScrollArea::vertical()
        .id_salt("active-alerts")
        .max_height(ui.available_height() * 0.55)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if active.is_empty() {
                ui.weak("all clear");
            }
            for alert in &active {
                let color = severity_color(alert.severity);
                egui::Frame::group(ui.style())
                    .stroke(egui::Stroke::new(1.5, color))
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.horizontal_wrapped(|ui| {
                            ui.colored_label(
                                color,
                                RichText::new(alert.severity.as_str().to_uppercase()).strong(),
                            );
                            ui.strong(&alert.title);
                            if alert.state == AlertState::Pending {
                                ui.weak("(pending)");
                            }
                            if alert.acknowledged {
                                ui.weak("(acknowledged)");
                            }
                        });
                        if let Some(series) = &alert.series {
                            let value = alert.value.map_or("no data".into(), |v| format!("{v:.4}"));
                            ui.label(format!("{series} = {value} ({})", alert.message));
                        } else if !alert.message.is_empty() && alert.message != alert.title {
                            ui.label(&alert.message);
                        }
                        // Wrapped: the buttons never widen the panel.
                        ui.horizontal_wrapped(|ui| {
                            ui.weak(format!(
                                "since {}",
                                format_clock(alert.since_ms as f64 / 1000.0, false)
                            ));
                            if !alert.acknowledged && ui.small_button("Acknowledge").clicked() {
                                actions.push(AlertAction::Acknowledge(alert.key.clone()));
                            }
                            match &alert.key {
                                AlertKey::Rule(rule, _) => {
                                    match store.alerts().silenced_until(*rule, now_ms) {
                                        Some(until) => {
                                            ui.weak(format!(
                                                "silenced until {}",
                                                format_clock(until as f64 / 1000.0, false)
                                            ));
                                        }
                                        None => {
                                            if ui.small_button("Silence 1 h").clicked() {
                                                actions.push(AlertAction::Silence(*rule));
                                            }
                                        }
                                    }
                                }
                                AlertKey::Server(id) => {
                                    if ui.small_button("Dismiss").clicked() {
                                        actions.push(AlertAction::Dismiss(*id));
                                    }
                                }
                            }
                        });
                    });
            }
        });
    ui.separator();
    ui.heading("History");
    egui::ScrollArea::vertical()
        .id_salt("alert-history")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let history = store.alerts().history();
            if history.is_empty() {
                ui.weak("no alert so far");
            }
            for event in history.iter().rev().take(200) {
                let (at, severity, text) = match event {
                    AlertEvent::Rule {
                        alert,
                        series,
                        state,
                        value,
                        at_ms,
                        severity,
                        ..
                    } => (
                        *at_ms,
                        *severity,
                        format!(
                            "{alert} {} — {series} = {}",
                            state.as_str(),
                            value.map_or("no data".into(), |v| format!("{v:.4}"))
                        ),
                    ),
                    AlertEvent::Server(alarm) => (
                        alarm.at_ms,
                        alarm.severity,
                        if alarm.message.is_empty() || alarm.message == alarm.title {
                            alarm.title.clone()
                        } else {
                            format!("{} — {}", alarm.title, alarm.message)
                        },
                    ),
                };
                // Wrapped to the panel: a long alarm never widens it.
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(severity_color(severity), "|");
                    ui.weak(format_clock(at as f64 / 1000.0, false));
                    ui.label(text);
                });
            }
        });
    actions
}

/// Toasts in the bottom-right corner, newest at the bottom.
pub fn toasts_ui(ctx: &egui::Context, toasts: &[Toast], now: std::time::Instant) {
    if toasts.is_empty() {
        return;
    }
    egui::Area::new(egui::Id::unique("toasts"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
            for toast in toasts {
                let age = now.duration_since(toast.shown_at).as_secs_f64();
                let fade = (1.0 - (age - (TOAST_SECONDS - 1.0)).max(0.0)).clamp(0.0, 1.0) as f32;
                let color = severity_color(toast.severity).gamma_multiply(fade);
                egui::Frame::popup(ui.style())
                    .stroke(egui::Stroke::new(2.0, color))
                    .show(ui, |ui| {
                        ui.set_max_width(320.0);
                        ui.colored_label(color, RichText::new(&toast.title).strong());
                        ui.label(&toast.text);
                    });
                ui.add_space(4.0);
            }
        });
}
