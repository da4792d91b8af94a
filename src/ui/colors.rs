//! Series colours: a palette legible on dark and light backgrounds, a
//! stable preferred colour per series name (a hash of the name, the same
//! every frame and every run), and distinct colours within one chart.

use egui::Color32;

/// Sixteen mid-lightness colours, readable on dark and light themes
/// (Tableau's ten without grey, and seven more of similar weight).
pub const PALETTE: [Color32; 16] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(0, 128, 128),
    Color32::from_rgb(200, 150, 0),
    Color32::from_rgb(110, 70, 210),
    Color32::from_rgb(0, 160, 110),
    Color32::from_rgb(230, 80, 140),
    Color32::from_rgb(90, 150, 230),
    Color32::from_rgb(150, 150, 60),
];

/// FNV-1a: stable across runs and platforms (std's hashers are not).
fn hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The palette slot a series prefers.
fn preferred(name: &str) -> usize {
    (hash(name) % PALETTE.len() as u64) as usize
}

/// The preferred colour of a series, whatever chart it is on.
pub fn series_color(name: &str) -> Color32 {
    PALETTE[preferred(name)]
}

/// The colours of one chart's series, in the order given: each series
/// its preferred colour unless a series before it took it, then the next
/// free one. Distinct while the chart has at most [`PALETTE`]`.len()`
/// series; the same names in the same order give the same colours.
pub fn chart_colors(names: &[&str]) -> Vec<Color32> {
    let mut taken = [false; PALETTE.len()];
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let start = preferred(name);
            let slot = if index < PALETTE.len() {
                (0..PALETTE.len())
                    .map(|k| (start + k) % PALETTE.len())
                    .find(|slot| !taken[*slot])
                    .unwrap_or(start)
            } else {
                start
            };
            taken[slot] = true;
            PALETTE[slot]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stable_and_distinct_within_a_chart() {
        assert_eq!(series_color("/a#/b"), series_color("/a#/b"));
        let names: Vec<String> = (0..16).map(|i| format!("/stocks/S{i}#/price")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let colors = chart_colors(&names);
        for (i, a) in colors.iter().enumerate() {
            for b in &colors[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(colors, chart_colors(&names), "same every frame");
        assert_eq!(chart_colors(&names[..1])[0], series_color(names[0]));
    }

    #[test]
    fn the_palette_reads_on_dark_and_light_backgrounds() {
        // Relative luminance away from both black and white.
        for color in PALETTE {
            let [r, g, b, _] = color.to_array();
            let luma = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b);
            assert!((60.0..=190.0).contains(&luma), "{color:?}: {luma}");
        }
    }
}
