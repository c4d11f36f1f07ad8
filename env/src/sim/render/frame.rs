//! A rendered observation: RGB bytes and optional depth in metres, plus PNG export.

use std::io::{BufWriter, Write};
use std::path::Path;

use image::{ImageBuffer, ImageFormat, Luma, RgbImage};

use crate::error::{EnvError, Result};

/// RGB (row-major, 3 bytes per pixel, row 0 at the top) and optional depth (metres along the view axis,
/// as Habitat's depth sensor; 0 where nothing was hit).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    width: u32,
    height: u32,
    pub(crate) rgb: Vec<u8>,
    pub(crate) depth: Option<Vec<f32>>,
}

impl Frame {
    pub fn new(width: u32, height: u32, with_depth: bool) -> Self {
        let n = width as usize * height as usize;
        Frame {
            width,
            height,
            rgb: vec![0; n * 3],
            depth: with_depth.then(|| vec![0.0; n]),
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    pub fn depth(&self) -> Option<&[f32]> {
        self.depth.as_deref()
    }

    /// The pixel at column `x`, row `y`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    pub fn depth_at(&self, x: u32, y: u32) -> Option<f32> {
        self.depth
            .as_ref()
            .map(|d| d[y as usize * self.width as usize + x as usize])
    }

    pub fn to_rgb_image(&self) -> RgbImage {
        RgbImage::from_raw(self.width, self.height, self.rgb.clone())
            .expect("frame buffer matches its size")
    }

    /// Depth as 16-bit millimetres (saturating at 65.535 m), the usual lossless depth-image encoding.
    pub fn depth_image_mm(&self) -> Option<ImageBuffer<Luma<u16>, Vec<u16>>> {
        let d = self.depth.as_ref()?;
        let mm = d
            .iter()
            .map(|&m| (m * 1000.0 + 0.5).clamp(0.0, 65535.0) as u16)
            .collect();
        Some(
            ImageBuffer::from_raw(self.width, self.height, mm)
                .expect("depth buffer matches its size"),
        )
    }

    pub fn save_png(&self, path: &Path) -> Result<()> {
        write_png_atomic(path, |w| self.to_rgb_image().write_to(w, ImageFormat::Png))
    }

    /// Writes the depth as a 16-bit millimetre PNG; an error if the frame was rendered without depth.
    pub fn save_depth_png(&self, path: &Path) -> Result<()> {
        let img = self.depth_image_mm().ok_or_else(|| {
            EnvError::Invalid(format!(
                "{}: the frame was rendered without depth",
                path.display()
            ))
        })?;
        write_png_atomic(path, |w| img.write_to(w, ImageFormat::Png))
    }
}

/// Writes through a temporary file in the target directory, then renames, so readers never see half a PNG.
pub(crate) fn write_png_atomic(
    path: &Path,
    encode: impl FnOnce(&mut BufWriter<&mut std::fs::File>) -> image::ImageResult<()>,
) -> Result<()> {
    let io = |source| EnvError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        encode(&mut w).map_err(|source| EnvError::Image {
            path: path.to_path_buf(),
            source,
        })?;
        w.flush().map_err(io)?;
    }
    // Temp files are created private (0600); a rendered image is an ordinary output file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
