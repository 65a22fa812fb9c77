"""Route handlers, grouped by resource. Profiles and jobs are mirror images: one factory serves both."""
