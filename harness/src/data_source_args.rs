//! The flags that say how a user-supplied data set (`folder:PATH`,
//! `parquet:PATH`, `npz:PATH`) is converted, shared by every command that
//! names a data set (`#[command(flatten)]`).

use augkit_data::decode::ImageSize;
use augkit_data::parquet_images::Columns;
use augkit_data::{Source, SourceOptions};
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct DataSourceArgs {
    /// Size of the images of a folder:/parquet:/npz: data set, S or HxW
    /// (shorter side resized, centre crop). Default: the images' own size when
    /// they all share one no larger than 128×128, else 64×64.
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<ImageSize>,
    /// Test share of each class when a folder:/parquet:/npz: set has no test
    /// split (seeded stratified split, seed 0: the same for every run).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Skip unreadable or corrupt images (listed in the provenance) instead
    /// of failing.
    #[arg(long)]
    pub skip_bad_images: bool,
    /// parquet: the image column (default: detected).
    #[arg(long)]
    pub image_column: Option<String>,
    /// parquet: the label column (default: detected).
    #[arg(long)]
    pub label_column: Option<String>,
}

impl Default for DataSourceArgs {
    fn default() -> Self {
        DataSourceArgs {
            image_size: None,
            test_fraction: 0.2,
            skip_bad_images: false,
            image_column: None,
            label_column: None,
        }
    }
}

fn parse_size(s: &str) -> Result<ImageSize, String> {
    s.parse()
}

impl DataSourceArgs {
    /// The reader's options.
    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            image_size: self.image_size,
            test_fraction: self.test_fraction,
            skip_bad_images: self.skip_bad_images,
            columns: Columns {
                image: self.image_column.clone(),
                label: self.label_column.clone(),
            },
            ..SourceOptions::default()
        }
    }

    /// The options to record for `dataset`: `Some` only for a user-supplied
    /// set (named data sets ignore these flags).
    pub fn options_for(&self, dataset: &str) -> Option<SourceOptions> {
        Source::parse(dataset).map(|_| self.options())
    }
}
