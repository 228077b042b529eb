"""A photo library: faces described once and kept, then grouped and searched from what is kept."""
