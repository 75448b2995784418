"""Reading articles: finding and decoding files, formats, chunking and sentences."""
