"""django.contrib.admin's app config with our AdminSite (its login is rate limited like the site's).

INSTALLED_APPS names this instead of "django.contrib.admin"; the site itself is in admin_site.py.
"""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "apps.accounts.admin_site.StreamUsAdminSite"
