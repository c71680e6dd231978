"""The end-to-end demo: corpus -> model -> circuits -> validation -> report, resumable by stage."""
