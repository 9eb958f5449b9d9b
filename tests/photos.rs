//! Photos: producers upload phone files (JPEG, PNG, WebP) over the API and from their pages; each
//! is decoded, turned upright, stripped of its metadata, resized and served from our origin under
//! a content hash with long caching; the shop shows them as cards; bad files get a field message.

use crate::support::sale::{Sale, open_sale, product_of};
use crate::support::*;
use image::{ImageEncoder, Rgb, RgbImage};
use reqwest::StatusCode;
use serde_json::Value;

/// A phone photo: a JPEG stored sideways, with an EXIF block saying "turn it a quarter right" and
/// a GPS position that must never reach anyone.
fn phone_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x % 200) as u8 + 40, (y % 200) as u8, 120])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("jpeg");
    // TIFF, little-endian: IFD0 with Orientation = 6 and a GPS IFD pointer, then a GPS IFD
    // holding the latitude reference "N" (what a phone writes, less the numbers).
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0]);
    tiff.extend(38u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend([0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend(0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(&tiff);
    app1.extend(b"GPSLatitude 47.3941 N");
    let len = u16::try_from(app1.len() + 2).expect("short");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(len.to_be_bytes());
    out.extend(app1);
    out.extend(&plain[2..]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x / 8) as u8, 90, (y / 8) as u8]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("png");
    out
}

fn webp(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| image::Rgba([200, (x % 255) as u8, 40, 255]));
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
        .expect("webp");
    out
}

async fn carrots_product(sale: &Sale) -> String {
    product_of(&sale.producer, &sale.distribution, &sale.carrots).await
}

#[tokio::test]
async fn a_phone_photo_is_served_upright_without_its_metadata_and_cached_for_good() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let product = carrots_product(&sale).await;
        let path = format!("/api/v1/products/{product}/photos");
        let (s, v) = sale
            .producer
            .upload(&path, phone_jpeg(800, 400), "IMG_2041.JPG", "image/jpeg")
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // Stored sideways, it comes back upright: 400 wide, 800 high.
        assert_eq!(
            (v["width"].clone(), v["height"].clone()),
            (Value::from(400), Value::from(800)),
            "{v}"
        );
        let url = v["url"].as_str().expect("url").to_owned();
        assert!(
            url.starts_with("/photos/") && url.ends_with("-400.jpg"),
            "{url}"
        );
        assert!(
            v["srcset"]
                .as_str()
                .is_some_and(|s| s.contains(" 320w") && s.contains(" 400w")),
            "{v}"
        );

        let served = reqwest::Client::new()
            .get(app.url(&url))
            .send()
            .await
            .expect("GET");
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()["content-type"], "image/jpeg");
        assert_eq!(
            served.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let etag = served.headers()["etag"].to_str().expect("etag").to_owned();
        let bytes = served.bytes().await.expect("bytes").to_vec();
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("Exif") && !text.contains("GPS"),
            "no metadata survives"
        );
        let back = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((back.width(), back.height()), (400, 800));
        let again = reqwest::Client::new()
            .get(app.url(&url))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("GET");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

        // PNG and WebP from a computer are taken too, and resized to the widths pages use.
        let (s, v) = sale
            .producer
            .upload(&path, png(2000, 1500), "panier.png", "image/png")
            .await;
        assert_eq!(
            (s, v["width"].clone(), v["height"].clone()),
            (StatusCode::CREATED, Value::from(1280), Value::from(960)),
            "{v}"
        );
        let (s, v) = sale
            .producer
            .upload(&path, webp(300, 200), "botte.webp", "image/webp")
            .await;
        assert_eq!(
            (s, v["width"].clone()),
            (StatusCode::CREATED, Value::from(300)),
            "{v}"
        );

        // The product, its offer and the shop show the first photo, lazily, at the right size.
        let (_, p) = sale
            .member
            .get(&format!("/api/v1/products/{product}"))
            .await;
        assert_eq!(p["photos"].as_array().map(Vec::len), Some(3), "{p}");
        assert_eq!(p["photos"][0]["url"], url.as_str());
        let (_, offers) = sale
            .member
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        let offer = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == sale.carrots.as_str()))
            .cloned()
            .expect("offer");
        assert_eq!(offer["photos"][0]["url"], url.as_str(), "{offer}");
        let b = app.browser().await;
        let shop = b
            .get(&format!("/distributions/{}", sale.distribution))
            .await;
        assert_eq!(shop.status, StatusCode::OK);
        let thumb = p["photos"][0]["thumb_url"].as_str().expect("thumb");
        let img = shop
            .html()
            .select(&scraper::Selector::parse(".offer img").expect("selector"))
            .next()
            .map(|e| e.html())
            .expect("a photo card");
        for part in [
            format!("src=\"{thumb}\""),
            "loading=\"lazy\"".to_owned(),
            "width=\"400\"".to_owned(),
            "height=\"800\"".to_owned(),
            "srcset=".to_owned(),
        ] {
            assert!(img.contains(&part), "{part} in {img}");
        }

        // Removed, it is gone from the product and its bytes from the server.
        let id = p["photos"][0]["id"].as_str().expect("id").to_owned();
        let (s, _) = sale.member.delete(&format!("/api/v1/photos/{id}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = sale.producer.delete(&format!("/api/v1/photos/{id}")).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let gone = reqwest::Client::new()
            .get(app.url(&url))
            .send()
            .await
            .expect("GET");
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        let (_, p) = sale
            .member
            .get(&format!("/api/v1/products/{product}"))
            .await;
        assert_eq!(p["photos"].as_array().map(Vec::len), Some(2), "{p}");
    })
    .await;
}

#[tokio::test]
async fn files_that_are_not_photos_get_a_message_and_leave_nothing_behind() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let product = carrots_product(&sale).await;
        let path = format!("/api/v1/products/{product}/photos");
        // A PNG cut short in transfer (a JPEG cut short still decodes, grey where it stops).
        let mut cut = png(300, 200);
        cut.truncate(cut.len() / 2);
        for (bytes, name, mime) in [
            (
                b"%PDF-1.7 facture".to_vec(),
                "facture.pdf",
                "application/pdf",
            ),
            (b"GIF89a\x01\x00\x01\x00".to_vec(), "anim.gif", "image/gif"),
            (b"not really a jpeg".to_vec(), "photo.jpg", "image/jpeg"),
            (cut, "cut.png", "image/png"),
            (Vec::new(), "empty.jpg", "image/jpeg"),
        ] {
            let (s, v) = sale.producer.upload(&path, bytes, name, mime).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
            assert_eq!(fields(&v), vec!["file"], "{name}: {v}");
        }
        // Just over 10 MB is refused with a message; far over, before it is even read.
        let (s, v) = sale
            .producer
            .upload(
                &path,
                vec![0xFF; 10 * 1024 * 1024 + 1],
                "big.jpg",
                "image/jpeg",
            )
            .await;
        assert_eq!(
            (s, fields(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["file".to_owned()]),
            "{v}"
        );
        let (s, _) = sale
            .producer
            .upload(
                &path,
                vec![0xFF; 12 * 1024 * 1024],
                "huge.jpg",
                "image/jpeg",
            )
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        // A form without the file, or not a form at all.
        let (s, v) = sale
            .producer
            .post(&path, serde_json::json!({"file": "x"}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        // Only the producer's owner may add one.
        let (s, _) = sale
            .member
            .upload(&path, png(40, 30), "p.png", "image/png")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, p) = sale
            .member
            .get(&format!("/api/v1/products/{product}"))
            .await;
        assert_eq!(p["photos"], serde_json::json!([]), "{p}");
    })
    .await;
}

#[tokio::test]
async fn producers_add_photos_from_their_pages_and_show_their_farm() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let product = carrots_product(&sale).await;
        let b = app.browser().await;
        b.login("julien@example.fr", "correct horse battery").await;
        let edit = format!("/products/{product}/edit");
        let page = b.get(&edit).await;
        assert!(
            page.contains("enctype=\"multipart/form-data\""),
            "{}",
            page.body
        );

        // A file that is not a photo comes back with its message on the page.
        let bad = b
            .upload(
                &format!("/products/{product}/photos"),
                b"hello".to_vec(),
                "note.txt",
                "text/plain",
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.contains("not a readable photo"), "{}", bad.body);
        // Without the page's token, nothing is taken.
        let forged = b
            .client
            .post(app.url(&format!("/products/{product}/photos")))
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(png(40, 30)).file_name("p.png"),
            ))
            .send()
            .await
            .expect("POST");
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        let done = b
            .upload(
                &format!("/products/{product}/photos"),
                phone_jpeg(640, 480),
                "IMG.JPG",
                "image/jpeg",
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Photo added."), "{}", after.body);
        assert_eq!(
            after.texts("#photos .photo-grid img").len(),
            1,
            "{}",
            after.body
        );

        // The farm's first photo is its portrait on its public page.
        let farm_done = b
            .upload(
                &format!("/producers/{}/photos", sale.farm),
                png(900, 600),
                "ferme.png",
                "image/png",
            )
            .await;
        assert_eq!(
            farm_done.status,
            StatusCode::SEE_OTHER,
            "{}",
            farm_done.body
        );
        let public = app
            .browser()
            .await
            .get(&format!("/producers/{}", sale.farm))
            .await;
        assert_eq!(public.texts("img.portrait").len(), 1, "{}", public.body);
        assert!(public.contains("og:image"), "{}", public.body);

        // Deleting from the page takes it away.
        let id = after
            .html()
            .select(&scraper::Selector::parse("#photos form[action$='/delete']").expect("selector"))
            .next()
            .and_then(|f| f.value().attr("action").map(str::to_owned))
            .expect("a delete form");
        let removed = b.post(&id, &[]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
        let (_, p) = sale
            .member
            .get(&format!("/api/v1/products/{product}"))
            .await;
        assert_eq!(p["photos"], serde_json::json!([]), "{p}");
    })
    .await;
}

#[tokio::test]
async fn a_product_deleted_from_the_catalogue_takes_its_photos_with_it() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let turnips = sale.producer.product(&sale.farm, "Navets", 240).await;
        let (s, v) = sale
            .producer
            .upload(
                &format!("/api/v1/products/{turnips}/photos"),
                png(700, 500),
                "navets.png",
                "image/png",
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let url = v["url"].as_str().expect("url").to_owned();
        let (s, v) = sale
            .producer
            .delete(&format!("/api/v1/products/{turnips}"))
            .await;
        assert_eq!(
            (s, v["result"].clone()),
            (StatusCode::OK, serde_json::json!("deleted")),
            "{v}"
        );
        let gone = reqwest::Client::new()
            .get(app.url(&url))
            .send()
            .await
            .expect("GET");
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        use sea_orm::{EntityTrait, PaginatorTrait};
        let left = entity::photo_blobs::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(left, 0, "no bytes are left behind");
    })
    .await;
}
