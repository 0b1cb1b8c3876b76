"""Models of tinysaver_mm; host-library parts are imported by the package."""
