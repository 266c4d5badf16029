//! Reading `multipart/form-data` forms (the admin pages' and the API's,
//! which carry a picture): the text fields, and the files, each read up
//! to the upload limit. A file over the limit is read to its end and
//! dropped (so that the browser gets the page saying so, not a broken
//! connection), and the form's other fields are still there.

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;

use crate::web::error::PageError;

/// The text fields of a form, all together, at most.
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

pub struct MultipartForm {
    fields: HashMap<String, String>,
    /// The chosen files, by field.
    files: HashMap<String, UploadedFile>,
}

pub struct UploadedFile {
    /// Its name on the owner's computer.
    pub name: String,
    pub bytes: Vec<u8>,
    /// It was larger than the limit (and `bytes` is empty).
    pub too_large: bool,
}

impl MultipartForm {
    /// A text field; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    /// The file chosen in a file field, if one was.
    pub fn take_file(&mut self, name: &str) -> Option<UploadedFile> {
        self.files.remove(name)
    }
}

/// Reads the form; its file fields are `file_fields`, each file of at most
/// `max_file` bytes.
pub async fn read(
    mut multipart: Multipart,
    file_fields: &[&str],
    max_file: usize,
) -> Result<MultipartForm, PageError> {
    let mut fields = HashMap::new();
    let mut files = HashMap::new();
    let mut text_bytes = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if file_fields.contains(&name.as_str()) && field.file_name().is_some() {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let mut bytes = Vec::new();
            let mut too_large = false;
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if too_large || bytes.len() + chunk.len() > max_file {
                    too_large = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(&chunk);
                }
            }
            // A file input left empty sends a part without a name or bytes.
            if !file_name.is_empty() || !bytes.is_empty() || too_large {
                let file = UploadedFile {
                    name: file_name,
                    bytes,
                    too_large,
                };
                files.insert(name, file);
            }
        } else {
            let value = field.text().await.map_err(unreadable)?;
            text_bytes += value.len();
            if text_bytes > MAX_TEXT_BYTES {
                return Err(PageError::PayloadTooLarge);
            }
            fields.insert(name, value);
        }
    }
    Ok(MultipartForm { fields, files })
}

fn unreadable(error: MultipartError) -> PageError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PageError::PayloadTooLarge,
        _ => PageError::BadRequest(format!("The form could not be read: {}", error.body_text())),
    }
}
