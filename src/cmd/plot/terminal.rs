//! A plotters backend drawing into the terminal: each character cell holds
//! 2 x 4 pixels as a Braille pattern, text goes into cells as characters,
//! and each series keeps its color (ANSI) when the output is a terminal.

use std::fmt;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontTransform,
};

/// Never raised: drawing into memory cannot fail.
#[derive(Debug)]
pub(crate) struct NoError;

impl fmt::Display for NoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("terminal drawing")
    }
}

impl std::error::Error for NoError {}

/// A character grid of `cols` x `rows` cells (`2 cols` x `4 rows` pixels).
pub(crate) struct Grid {
    cols: usize,
    rows: usize,
    /// Braille dots per cell.
    dots: Vec<u8>,
    /// Color of the last dot drawn in each cell.
    colors: Vec<Option<(u8, u8, u8)>>,
    /// Text, which wins over dots.
    text: Vec<Option<char>>,
}

/// The plotters backend drawing into a [`Grid`].
pub(crate) struct TerminalBackend<'a>(pub(crate) &'a mut Grid);

impl Grid {
    pub(crate) fn new(cols: usize, rows: usize) -> Self {
        let cells = cols * rows;
        Grid {
            cols,
            rows,
            dots: vec![0; cells],
            colors: vec![None; cells],
            text: vec![None; cells],
        }
    }

    /// The drawing, one line per row, with ANSI colors when `color`.
    pub(crate) fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for row in 0..self.rows {
            let mut line = String::new();
            let mut current: Option<u8> = None;
            for col in 0..self.cols {
                let i = row * self.cols + col;
                let (c, ansi) = match (self.text[i], self.dots[i]) {
                    (Some(c), _) => (c, None),
                    (None, 0) => (' ', None),
                    (None, bits) => (
                        char::from_u32(0x2800 + u32::from(bits)).unwrap_or('.'),
                        self.colors[i].map(ansi_color),
                    ),
                };
                if color && ansi != current {
                    match ansi {
                        Some(code) => line.push_str(&format!("\x1b[{code}m")),
                        None => line.push_str("\x1b[0m"),
                    }
                    current = ansi;
                }
                line.push(c);
            }
            if color && current.is_some() {
                line.push_str("\x1b[0m");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The nearest of the 6 bright ANSI colors (or white).
fn ansi_color((r, g, b): (u8, u8, u8)) -> u8 {
    let on = |v: u8, max: u8| u16::from(v) * 2 > u16::from(max);
    let max = r.max(g).max(b).max(1);
    match (on(r, max), on(g, max), on(b, max)) {
        (true, false, false) => 91,
        (false, true, false) => 92,
        (true, true, false) => 93,
        (false, false, true) => 94,
        (true, false, true) => 95,
        (false, true, true) => 96,
        _ => 97,
    }
}

/// Whether a color is background (white) or a light grid line.
fn is_light((r, g, b): (u8, u8, u8)) -> bool {
    r > 200 && g > 200 && b > 200
}

impl DrawingBackend for TerminalBackend<'_> {
    type ErrorType = NoError;

    fn get_size(&self) -> (u32, u32) {
        ((self.0.cols * 2) as u32, (self.0.rows * 4) as u32)
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        (x, y): BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<NoError>> {
        if x < 0 || y < 0 || color.alpha < 0.5 || is_light(color.rgb) {
            return Ok(());
        }
        let (x, y) = (x as usize, y as usize);
        let (col, row) = (x / 2, y / 4);
        if col >= self.0.cols || row >= self.0.rows {
            return Ok(());
        }
        const BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
        let i = row * self.0.cols + col;
        self.0.dots[i] |= BITS[x % 2][y % 4];
        let gray = color.rgb.0 == color.rgb.1 && color.rgb.1 == color.rgb.2;
        if !gray || self.0.colors[i].is_none() {
            self.0.colors[i] = Some(color.rgb);
        }
        Ok(())
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        _style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<NoError>> {
        Ok((text.chars().count() as u32 * 2, 4))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        (x, y): BackendCoord,
    ) -> Result<(), DrawingErrorKind<NoError>> {
        if !matches!(style.transform(), FontTransform::None) {
            return Ok(()); // rotated labels do not fit a character grid
        }
        let width = text.chars().count() as i32;
        let col = x.div_euclid(2)
            - match style.anchor().h_pos {
                HPos::Left => 0,
                HPos::Right => width,
                HPos::Center => width / 2,
            };
        let row = match style.anchor().v_pos {
            VPos::Top => y.div_euclid(4),
            VPos::Center => y.div_euclid(4),
            VPos::Bottom => (y - 1).div_euclid(4),
        };
        if row < 0 || row as usize >= self.0.rows {
            return Ok(());
        }
        for (k, c) in text.chars().enumerate() {
            let cell = col + k as i32;
            if cell >= 0 && (cell as usize) < self.0.cols {
                self.0.text[row as usize * self.0.cols + cell as usize] = Some(c);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_become_braille_dots_and_text_characters() {
        let mut grid = Grid::new(4, 2);
        let mut t = TerminalBackend(&mut grid);
        let red = BackendColor {
            alpha: 1.0,
            rgb: (255, 0, 0),
        };
        t.draw_pixel((0, 0), red).ok();
        t.draw_pixel((1, 3), red).ok();
        t.draw_pixel((7, 7), red).ok();
        t.draw_pixel((100, 100), red).ok(); // outside: ignored
        let out = grid.render(false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "\u{2881}");
        assert_eq!(lines[1], "   \u{2880}");
        assert!(grid.render(true).contains("\x1b[91m"), "red in color mode");
    }
}
