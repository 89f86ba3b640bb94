//! PNG output: plotters' bitmap backend, with text drawn from a font built
//! into the binary (DejaVu Sans, through `ab_glyph`), so that a chart needs
//! no font installed on the machine.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::backend::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// DejaVu Sans (Bitstream Vera license: `assets/fonts/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The built-in font.
pub(crate) fn font() -> Result<FontRef<'static>, String> {
    FontRef::try_from_slice(FONT_BYTES).map_err(|e| format!("the built-in font: {e}"))
}

/// A one-pixel stroke of a color.
struct Thin(BackendColor);

impl BackendStyle for Thin {
    fn color(&self) -> BackendColor {
        self.0
    }
}

/// A bitmap backend that draws text with the built-in font.
pub(crate) struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> PngBackend<'a> {
    pub(crate) fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        PngBackend { inner, font }
    }

    /// Width, ascent and descent (negative) of `text` at `size` pixels.
    fn measure(&self, text: &str, size: f64) -> (f32, f32, f32) {
        let scaled = self.font.as_scaled(PxScale::from(size as f32));
        let mut width = 0.0;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                width += scaled.kern(p, id);
            }
            width += scaled.h_advance(id);
            previous = Some(id);
        }
        (width, scaled.ascent(), scaled.descent())
    }
}

impl DrawingBackend for PngBackend<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let width = style.stroke_width();
        if width <= 1 {
            return self.inner.draw_path(path, style);
        }
        // The bitmap backend joins a wide path's segments with miters,
        // which at the sharp turns of a spiky series reach far past its
        // points (over the title and the axis labels). Each segment is
        // drawn instead as `width` parallel one-pixel lines: no joins.
        let thin = Thin(style.color());
        let points: Vec<BackendCoord> = path.into_iter().collect();
        let first = -((width as i32 - 1) / 2);
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let steep = (b.1 - a.1).abs() > (b.0 - a.0).abs();
            for d in first..first + width as i32 {
                let (from, to) = if steep {
                    ((a.0 + d, a.1), (b.0 + d, b.1))
                } else {
                    ((a.0, a.1 + d), (b.0, b.1 + d))
                };
                self.inner.draw_line(from, to, &thin)?;
            }
        }
        Ok(())
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (width, ascent, descent) = self.measure(text, style.size());
        Ok((width.ceil() as u32, (ascent - descent).ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size();
        let (width, ascent, descent) = self.measure(text, size);
        let height = ascent - descent;
        // Where the text's top left corner goes, before rotation.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Right => -width,
            HPos::Center => -width / 2.0,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let scaled = self.font.as_scaled(PxScale::from(size as f32));
        let mut caret = 0.0f32;
        let mut previous = None;
        let mut pixels = Vec::new();
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(
                PxScale::from(size as f32),
                ab_glyph::point(caret, ascent),
            );
            caret += scaled.h_advance(id);
            previous = Some(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                if coverage <= 0.0 {
                    return;
                }
                let x = (bounds.min.x + x as f32 + dx).round() as i32;
                let y = (bounds.min.y + y as f32 + dy).round() as i32;
                pixels.push((x, y, coverage));
            });
        }
        for (x, y, coverage) in pixels {
            let (x, y) = transform.transform(x, y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                self.inner
                    .draw_pixel((x, y), color.mix(f64::from(coverage)))?;
            }
        }
        Ok(())
    }
}
