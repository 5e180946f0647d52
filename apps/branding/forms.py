from __future__ import annotations

from django import forms

from apps.streams.models import Layout

from .models import BrandAsset, SceneTemplate


class BrandKitForm(forms.Form):
    name = forms.CharField(max_length=80)
    primary_colour = forms.CharField(max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    accent_colour = forms.CharField(max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    font = forms.CharField(max_length=64, help_text="Used for name tags and banners.")


class BrandAssetUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=BrandAsset.Kind.choices)
    file = forms.FileField(
        help_text="PNG, JPEG or WebP.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )


class BrandAssetPlacementForm(forms.Form):
    x = forms.FloatField(min_value=0.0, max_value=1.0)
    y = forms.FloatField(min_value=0.0, max_value=1.0)
    scale = forms.FloatField(min_value=0.01, max_value=1.0)
    opacity = forms.FloatField(min_value=0.0, max_value=1.0)


class ApplyToStreamForm(forms.Form):
    stream: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, empty_label=None)  # type: ignore[arg-type]

    def __init__(self, *args: object, streams: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["stream"].queryset = streams  # type: ignore[attr-defined]


class SceneTemplateForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=SceneTemplate.Kind.choices)
    layout = forms.ChoiceField(choices=[("", "The template's default"), *Layout.choices], required=False)
    brand_kit: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, required=False)  # type: ignore[arg-type]

    def __init__(self, *args: object, kits: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["brand_kit"].queryset = kits  # type: ignore[attr-defined]
