//! The demo's photos, painted at seed time with no network: produce on a linen cloth for each
//! product, a farm under its sky for each producer; the same name always paints the same picture.

use crate::domain::photo::{self, Rendition};
use crate::domain::{ProducerId, ProductId};
use crate::error::{AppError, AppResult};
use crate::services::photos;
use chrono::{DateTime, Utc};
use entity::{photos as photo_rows, producers, products};
use photo::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use sha2::{Digest, Sha256};

/// Painted size, then enlarged twice by the image library: the 320 and 640 sizes pages use most,
/// painted in a quarter of the time.
const W: u32 = 320;
const H: u32 = 240;

/// What to paint, and whose photo it becomes.
enum Subject {
    Product { name: String, category: String },
    Farm { name: String, view: u32 },
}

/// Gives every demo product and producer without a photo the ones painted for it; returns how many.
pub async fn add(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let mut todo = Vec::new();
    for p in products::Entity::find().all(db).await? {
        if !has_photos(db, p.producer_id, Some(p.id)).await? {
            let subject = Subject::Product {
                name: p.name,
                category: p.category,
            };
            todo.push((ProducerId(p.producer_id), Some(ProductId(p.id)), subject));
        }
    }
    for f in producers::Entity::find().all(db).await? {
        if !has_photos(db, f.id, None).await? {
            for view in 0..2 {
                let subject = Subject::Farm {
                    name: f.name.clone(),
                    view,
                };
                todo.push((ProducerId(f.id), None, subject));
            }
        }
    }
    // Painted on every core at once, then stored one by one in the order listed.
    let painting: Vec<_> = todo
        .into_iter()
        .map(|(producer, product, subject)| {
            let sizes = tokio::task::spawn_blocking(move || {
                let picture = match subject {
                    Subject::Product { name, category } => produce(&name, &category),
                    Subject::Farm { name, view } => farm(&name, view),
                };
                photo::renditions(enlarged(picture))
            });
            (producer, product, sizes)
        })
        .collect();
    let made = painting.len();
    for (producer, product, sizes) in painting {
        let sizes: Vec<Rendition> = sizes
            .await
            .map_err(|e| AppError::Internal(format!("demo photo: {e}")))?
            .map_err(|e| AppError::Internal(format!("demo photo: {e:?}")))?;
        photos::store(db, producer, product, &sizes, now).await?;
    }
    Ok(made)
}

async fn has_photos(
    db: &DatabaseConnection,
    producer: i64,
    product: Option<i64>,
) -> AppResult<bool> {
    let q = photo_rows::Entity::find().filter(photo_rows::Column::ProducerId.eq(producer));
    let q = match product {
        Some(p) => q.filter(photo_rows::Column::ProductId.eq(p)),
        None => q.filter(photo_rows::Column::ProductId.is_null()),
    };
    Ok(q.count(db).await? > 0)
}

fn rng_for(name: &str) -> rand::rngs::StdRng {
    let digest = Sha256::digest(name.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    rand::rngs::StdRng::seed_from_u64(u64::from_le_bytes(seed))
}

/// What a product looks like: its colours and whether it is long, round or a block.
struct Look {
    colours: &'static [[u8; 3]],
    shape: Shape,
    count: u32,
}

#[derive(Clone, Copy)]
enum Shape {
    Round,
    Long,
    Block,
    /// Standing, taller than wide.
    Bottle,
}

fn look(name: &str, category: &str) -> Look {
    let n = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    let (colours, shape, count): (&'static [[u8; 3]], Shape, u32) = if has(&["carotte"]) {
        (&[[232, 118, 28], [214, 98, 20]], Shape::Long, 7)
    } else if has(&["poireau"]) {
        (&[[226, 232, 200], [92, 140, 60]], Shape::Long, 4)
    } else if has(&["betterave", "radis"]) {
        (&[[150, 28, 60], [196, 40, 78]], Shape::Round, 6)
    } else if has(&["courge", "potiron", "butternut"]) {
        (&[[226, 160, 80], [212, 140, 60]], Shape::Round, 3)
    } else if has(&["salade", "mâche", "chou", "épinard"]) {
        (
            &[[120, 176, 70], [90, 150, 50], [150, 196, 90]],
            Shape::Round,
            9,
        )
    } else if has(&["pomme de terre", "oignon"]) {
        (&[[196, 160, 100], [178, 140, 84]], Shape::Round, 9)
    } else if has(&["pomme", "poire"]) {
        (
            &[[190, 40, 40], [120, 170, 60], [210, 170, 60]],
            Shape::Round,
            8,
        )
    } else if has(&["pain", "baguette", "brioche", "miche", "boule"]) {
        (&[[176, 112, 52], [150, 92, 40]], Shape::Block, 2)
    } else if has(&["œuf", "oeuf"]) {
        (&[[236, 214, 182], [226, 200, 166]], Shape::Round, 10)
    } else if has(&[
        "vin", "vouvray", "crémant", "jus", "cidre", "bière", "gamay", "chinon",
    ]) {
        (
            &[[40, 70, 40], [90, 30, 40], [30, 50, 30]],
            Shape::Bottle,
            3,
        )
    } else if has(&["miel", "confiture"]) {
        (&[[214, 150, 30], [190, 120, 20]], Shape::Block, 3)
    } else {
        match category {
            "dairy" => (&[[246, 242, 228], [236, 228, 206]], Shape::Block, 3),
            "bakery" => (&[[176, 112, 52], [150, 92, 40]], Shape::Block, 2),
            "meat" => (&[[160, 50, 50], [130, 40, 40]], Shape::Block, 3),
            "fruit" => (&[[200, 50, 60], [230, 150, 40]], Shape::Round, 8),
            "vegetables" => (&[[110, 160, 60], [200, 120, 40]], Shape::Round, 7),
            _ => (&[[200, 170, 110], [170, 140, 90]], Shape::Round, 6),
        }
    };
    Look {
        colours,
        shape,
        count,
    }
}

/// Produce on a linen cloth, lit from the top left.
fn produce(name: &str, category: &str) -> RgbImage {
    let mut rng = rng_for(name);
    let look = look(name, category);
    let cloth = [
        [234, 226, 210],
        [222, 214, 200],
        [206, 218, 214],
        [236, 222, 206],
    ][rng.random_range(0..4)];
    let mut img = RgbImage::from_fn(W, H, |x, y| {
        // A woven cloth: faint threads both ways and light falling off to the corners.
        let thread = if (x + y) % 2 == 0 { 4.0 } else { -4.0 };
        let dx = x as f32 / W as f32 - 0.4;
        let dy = y as f32 / H as f32 - 0.35;
        let light = 1.0 - 0.35 * (dx * dx + dy * dy);
        Rgb(cloth.map(|c| shade(c, light, thread)))
    });
    for _ in 0..look.count {
        let colour = look.colours[rng.random_range(0..look.colours.len())];
        let cx = rng.random_range(0.2..0.8) * W as f32;
        let cy = rng.random_range(0.2..0.8) * H as f32;
        let (rx, ry) = match look.shape {
            Shape::Round => {
                let r = rng.random_range(22.0..40.0) * 3.0 / (look.count as f32).sqrt();
                (r, r * rng.random_range(0.85..1.0))
            }
            Shape::Long => (rng.random_range(75.0..115.0), rng.random_range(8.0..13.0)),
            Shape::Block => (rng.random_range(55.0..85.0), rng.random_range(30.0..48.0)),
            Shape::Bottle => (rng.random_range(14.0..18.0), rng.random_range(70.0..85.0)),
        };
        let angle: f32 = match look.shape {
            Shape::Long => rng.random_range(-0.6..0.6),
            Shape::Bottle => rng.random_range(-0.05..0.05),
            _ => rng.random_range(-0.3..0.3),
        };
        blob(&mut img, (cx, cy), (rx, ry), angle, colour);
    }
    img
}

/// One shaded ellipse with a soft shadow below it.
fn blob(
    img: &mut RgbImage,
    (cx, cy): (f32, f32),
    (rx, ry): (f32, f32),
    angle: f32,
    colour: [u8; 3],
) {
    let (sin, cos) = angle.sin_cos();
    let reach = rx.max(ry) + 7.0;
    let x0 = (cx - reach).max(0.0) as u32;
    let x1 = ((cx + reach) as u32).min(W - 1);
    let y0 = (cy - reach).max(0.0) as u32;
    let y1 = ((cy + reach + 5.0) as u32).min(H - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 - cx, y as f32 - cy);
            let u = (px * cos + py * sin) / rx;
            let v = (-px * sin + py * cos) / ry;
            let d = u * u + v * v;
            let p = img.get_pixel_mut(x, y);
            if d <= 1.0 {
                // Lit from the top left, darker at the rim.
                let light = 1.05 - 0.35 * d - 0.25 * (u + v).clamp(-1.0, 1.0) * 0.5;
                let grain = ((x * 7 + y * 13) % 5) as f32 - 2.0;
                *p = Rgb(colour.map(|c| shade(c, light, grain)));
            } else {
                // The shadow falls down and to the right.
                let (sx, sy) = (px - 5.0, py - 6.0);
                let su = (sx * cos + sy * sin) / rx;
                let sv = (-sx * sin + sy * cos) / ry;
                let sd = su * su + sv * sv;
                if sd <= 1.0 {
                    *p = Rgb(p.0.map(|c| shade(c, 0.82 + 0.12 * sd, 0.0)));
                }
            }
        }
    }
}

/// A farm under its sky: `view` 0 the farmhouse, 1 the fields.
fn farm(name: &str, view: u32) -> RgbImage {
    let mut rng = rng_for(&format!("{name}/{view}"));
    let horizon = rng.random_range(0.42..0.58) * H as f32;
    let hill = rng.random_range(10.0..22.0);
    let phase = rng.random_range(0.0..6.0);
    let field = [[96, 150, 62], [136, 168, 70], [184, 170, 92]][rng.random_range(0..3)];
    let mut img = RgbImage::from_fn(W, H, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let ground = horizon + hill * ((fx / W as f32) * 3.0 + phase).sin();
        if fy < ground {
            let t = fy / ground;
            Rgb([
                (120.0 + 90.0 * t) as u8,
                (170.0 + 60.0 * t) as u8,
                (230.0 + 15.0 * t) as u8,
            ])
        } else {
            // Furrows run towards the horizon.
            let depth = (fy - ground) / (H as f32 - ground + 1.0);
            let furrow =
                if view == 1 && ((fx - W as f32 / 2.0) / (depth + 0.15) / 9.0) as i32 % 2 == 0 {
                    -10.0
                } else {
                    0.0
                };
            Rgb(field.map(|c| shade(c, 0.8 + 0.3 * depth, furrow)))
        }
    });
    if view == 0 {
        // A barn: red walls, a grey roof, a dark door.
        let bw = rng.random_range(75..105);
        let bh = rng.random_range(45..60);
        let bx = rng.random_range(40..(W - bw - 40));
        let by = horizon as u32 + 10;
        fill(&mut img, bx, by - bh, bw, bh, [164, 52, 40]);
        for i in 0..(bw / 2 + 5) {
            let top = by - bh - i * 2 / 3;
            let left = (bx + i).saturating_sub(3);
            fill(
                &mut img,
                left,
                top,
                (bw + 5).saturating_sub(2 * i),
                2,
                [88, 88, 96],
            );
        }
        fill(&mut img, bx + bw / 2 - 11, by - 30, 22, 30, [70, 40, 30]);
    }
    // A sun, or the same farm on a hazier day.
    let (sx, sy) = (
        rng.random_range(30.0..(W as f32 - 30.0)),
        rng.random_range(20.0..45.0),
    );
    for y in 0..(horizon as u32).min(H) {
        for x in 0..W {
            let d = ((x as f32 - sx).powi(2) + (y as f32 - sy).powi(2)).sqrt();
            if d < 14.0 {
                img.put_pixel(x, y, Rgb([255, 236, 170]));
            }
        }
    }
    img
}

/// Twice the painted size, smoothed by the image library.
fn enlarged(img: RgbImage) -> RgbImage {
    photo::resized(&img, W * 2, H * 2)
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: [u8; 3]) {
    for yy in y..(y + h).min(H) {
        for xx in x..(x + w).min(W) {
            img.put_pixel(xx, yy, Rgb(colour));
        }
    }
}

fn shade(c: u8, light: f32, add: f32) -> u8 {
    (f32::from(c) * light + add).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_paints_the_same_picture_and_names_differ() {
        let a = produce("Carottes des sables", "vegetables");
        assert_eq!(a, produce("Carottes des sables", "vegetables"));
        assert_ne!(a, produce("Poireaux", "vegetables"));
        assert_eq!((a.width(), a.height()), (W, H));
        let f = farm("La Ferme", 0);
        assert_ne!(f, farm("La Ferme", 1));
    }

    #[test]
    fn painted_pictures_make_the_usual_sizes() {
        let sizes =
            photo::renditions(enlarged(produce("Tomme de chèvre", "dairy"))).expect("sizes");
        let widths: Vec<u32> = sizes.iter().map(|r| r.width).collect();
        assert_eq!(widths, [320, 640]);
    }
}
