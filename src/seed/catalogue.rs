//! Fixed vocabularies the seeder draws from: a model catalogue in the style of Modzy's
//! marketplace, and people's names and titles.

/// (name, identifier, versions) of the demo model catalogue.
pub const MODELS: &[(&str, &str, &[&str])] = &[
    ("Sentiment Analysis", "ed542963de", &["1.0.1", "1.0.27"]),
    ("Image-Based Geolocation", "aevbu1h3yw", &["1.0.1"]),
    ("Multi-Language OCR", "c60c8dbd79", &["0.0.12", "1.0.0"]),
    (
        "Named Entity Recognition, English",
        "a92fc413b5",
        &["0.0.12"],
    ),
    ("Text Summarization", "m8z2mwe3pt", &["0.0.2"]),
    ("Language Identification", "wtjfvjbufa", &["0.0.5"]),
    ("Russian to English Translation", "3ad9f5xyrx", &["1.0.3"]),
    ("Chinese to English Translation", "24ntd2cwgy", &["0.0.9"]),
    ("Object Detection", "ccsfk1f9jo", &["0.0.2", "0.1.0"]),
    (
        "Military Equipment Classification",
        "d29uyeu7ob",
        &["1.0.0"],
    ),
    ("Hate Speech Detection", "7jm5bheq6e", &["1.0.3"]),
    ("Facial Embedding", "4xfyjiyg8b", &["0.0.3"]),
    ("Image Captioning", "bxsrgcqwl8", &["0.0.1"]),
    ("Topic Modeling", "m8rucmkmp1", &["2.0.2"]),
    ("Automatic Speech Recognition", "vrwgs7elv5", &["0.0.4"]),
    ("Fire and Smoke Detection", "nb79u0xcbm", &["1.0.4"]),
    ("Image Classification", "3l4tv9mgdc", &["1.0.1"]),
    ("Vehicle Classification", "d67t9t2gzn", &["1.0.0"]),
    ("Document Layout Analysis", "ynm0gqzgdl", &["0.1.2"]),
    ("Keyword Extraction", "zh3u2zlh6i", &["1.0.0"]),
];

/// True for catalogue models that classify images (sets `imageClassificationModel`).
pub fn is_image_classifier(name: &str) -> bool {
    ["Image", "Object", "Facial", "Vehicle", "Fire", "Military"]
        .iter()
        .any(|w| name.contains(w))
}

/// Given names.
pub const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "Dennis",
    "Radia",
    "Linus",
    "Katherine",
    "John",
    "Hedy",
    "Tim",
    "Shafi",
    "Leslie",
    "Sophie",
    "Niklaus",
    "Karen",
    "Guido",
    "Anita",
    "Bjarne",
    "Mary",
    "Yukihiro",
    "Lynn",
    "James",
    "Joan",
    "Robin",
];

/// Family names.
pub const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Ritchie",
    "Perlman",
    "Torvalds",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Berners-Lee",
    "Goldwasser",
    "Lamport",
    "Wilson",
    "Wirth",
    "Sparck Jones",
    "van Rossum",
    "Borg",
    "Stroustrup",
    "Keller",
    "Matsumoto",
    "Conway",
    "Gosling",
    "Clarke",
    "Milner",
];

/// Job titles.
pub const TITLES: &[&str] = &[
    "Data Scientist",
    "ML Engineer",
    "Analyst",
    "Software Engineer",
    "Research Scientist",
    "Product Manager",
    "Platform Engineer",
];

/// Account (organisation) names.
pub const ACCOUNT_NAMES: &[&str] = &[
    "Acme Analytics",
    "Globex",
    "Initech",
    "Umbrella Research",
    "Stark Industries",
    "Wayne Labs",
    "Tyrell Corp",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Pied Piper",
    "Vandelay Imports",
];

/// Input file names.
pub const INPUT_NAMES: &[&str] = &[
    "input.txt",
    "image.jpg",
    "audio.wav",
    "document.pdf",
    "frame.png",
];
