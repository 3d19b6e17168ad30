//! Where catalog images come from: the URL, checksum and format hosts fetch
//! an image's disk by, set by the operator (`sparecloud-server image
//! source`) or by this server publishing a disk file of its own
//! (`--publish-image ID=FILE`, served at `/api/v1/images/{id}/disk`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sparecloud_api::API_PREFIX;
use sparecloud_api::agent::{ImageFormat, ImageSource, is_sha256_hex};

use crate::db::Pool;
use crate::error::{AppError, AppResult, field};

/// Every image that has a source, for agents.
pub async fn all(db: &Pool) -> Result<Vec<ImageSource>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, source_url, source_sha256, source_format, login_user FROM images
         WHERE source_url IS NOT NULL AND source_sha256 IS NOT NULL ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(image_id, url, sha256, format, login_user)| {
            Some(ImageSource {
                image_id,
                url,
                sha256,
                format: ImageFormat::parse(&format)?,
                login_user,
            })
        })
        .collect())
}

/// Sets an image's source after checking it: an `https://` or `http://`
/// URL (or a path of this server's), a SHA-256 in hex.
pub async fn set(db: &Pool, source: &ImageSource) -> AppResult<()> {
    let mut errors = Vec::new();
    let own_path = source.url.starts_with(&format!("{API_PREFIX}/images/"));
    let absolute = source.url.starts_with("https://") || source.url.starts_with("http://");
    if !(own_path || absolute)
        || source.url.len() > 2000
        || source.url.contains(char::is_whitespace)
    {
        errors.push(field(
            "url",
            "Give an https:// (or http://) URL of the image's disk.",
        ));
    }
    if !is_sha256_hex(&source.sha256) {
        errors.push(field(
            "sha256",
            "Give the disk's SHA-256 as 64 lowercase hex digits.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let updated = sqlx::query(
        "UPDATE images SET source_url = $2, source_sha256 = $3, source_format = $4 WHERE id = $1",
    )
    .bind(&source.image_id)
    .bind(&source.url)
    .bind(&source.sha256)
    .bind(source.format.as_str())
    .execute(db)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::not_found("image"));
    }
    Ok(())
}

/// Where this server serves a disk it publishes.
pub fn published_url(image_id: &str) -> String {
    format!("{API_PREFIX}/images/{image_id}/disk")
}

/// Makes the server the source of `image_id`, whose disk is `file`.
pub async fn publish(db: &Pool, image_id: &str, file: &Path) -> AppResult<()> {
    let path = file.to_owned();
    let sha256 = tokio::task::spawn_blocking(move || sha256_of(&path))
        .await
        .map_err(|e| AppError::internal_from("hashing a published image", e))?
        .map_err(|e| {
            AppError::internal_from(format!("cannot read the image {}", file.display()), e)
        })?;
    let format = if file.extension().is_some_and(|e| e == "raw" || e == "img") {
        ImageFormat::Raw
    } else {
        ImageFormat::Qcow2
    };
    let source = ImageSource {
        image_id: image_id.to_owned(),
        url: published_url(image_id),
        sha256,
        format,
        login_user: String::new(),
    };
    set(db, &source).await?;
    tracing::info!(%image_id, file = %file.display(), sha256 = %source.sha256, "publishing the image");
    Ok(())
}

/// The file behind a published image, if this server publishes it.
pub fn published_file<'a>(published: &'a [(String, PathBuf)], image_id: &str) -> Option<&'a Path> {
    published
        .iter()
        .find(|(id, _)| id == image_id)
        .map(|(_, file)| file.as_path())
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hashes_as_sha256sum_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.qcow2");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_of(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn only_published_images_have_a_file() {
        let published = vec![("tiny".to_owned(), PathBuf::from("/srv/tiny.qcow2"))];
        assert_eq!(
            published_file(&published, "tiny"),
            Some(Path::new("/srv/tiny.qcow2"))
        );
        assert_eq!(published_file(&published, "debian-12"), None);
    }
}
