"""Class-based views, DRF viewsets, forms and serializers: querysets declared on the class.

``queryset = Contact.objects.all()`` on a view is the queryset every request uses, unless
the class (or a base class we cannot see) overrides ``get_queryset``. ``model = Contact``
on a generic view means ``Contact._default_manager.all()``, fetched by pk for detail,
update and delete views.
"""

from __future__ import annotations

import libcst as cst

from tenantlint.extract.python.records import QS
from tenantlint.extract.python.tree import is_camel

KNOWN_BASES = {
    "object", "View", "TemplateView", "RedirectView", "ListView", "DetailView", "CreateView", "UpdateView",
    "DeleteView", "FormView", "ArchiveIndexView", "YearArchiveView", "MonthArchiveView", "WeekArchiveView",
    "DayArchiveView", "TodayArchiveView", "DateDetailView", "BaseListView", "BaseDetailView", "BaseCreateView",
    "BaseUpdateView", "BaseDeleteView", "BaseFormView", "ProcessFormView", "APIView", "GenericAPIView",
    "ListAPIView", "RetrieveAPIView", "CreateAPIView", "DestroyAPIView", "UpdateAPIView", "ListCreateAPIView",
    "RetrieveUpdateAPIView", "RetrieveDestroyAPIView", "RetrieveUpdateDestroyAPIView", "ViewSet",
    "GenericViewSet", "ModelViewSet", "ReadOnlyModelViewSet", "ViewSetMixin", "ListModelMixin",
    "CreateModelMixin", "RetrieveModelMixin", "UpdateModelMixin", "DestroyModelMixin", "LoginRequiredMixin",
    "PermissionRequiredMixin", "UserPassesTestMixin", "AccessMixin", "SingleObjectMixin", "MultipleObjectMixin",
    "SingleObjectTemplateResponseMixin", "MultipleObjectTemplateResponseMixin", "ContextMixin",
    "TemplateResponseMixin", "FormMixin", "ModelFormMixin", "DeletionMixin", "SuccessMessageMixin",
    "Form", "ModelForm", "BaseForm", "Serializer", "ModelSerializer", "HyperlinkedModelSerializer",
    "ListSerializer", "FilterSet", "BaseModelForm", "BaseFormSet", "BaseModelFormSet", "Generic",
}
LOOKUP_VIEWS = {"DetailView", "UpdateView", "DeleteView", "BaseDetailView", "BaseUpdateView", "BaseDeleteView",
                "DateDetailView"}
LIST_VIEWS = {"ListView", "BaseListView", "ArchiveIndexView", "YearArchiveView", "MonthArchiveView",
              "WeekArchiveView", "DayArchiveView", "TodayArchiveView"}


def class_attr(w, frame, name: str, small, value) -> None:
    """Called for each class-level assignment once its value has been walked."""
    info = frame.cls
    if info is None:
        return
    if name == "queryset" and isinstance(value, QS) and value.record is not None:
        reason = overridden(w, info)
        if reason:
            value.record.scoped_by("helper", reason)
    elif name == "model" and isinstance(small.value, cst.Name) and is_camel(small.value.value):
        _model_attr(w, frame, small)


def overridden(w, info, depth: int = 0) -> str | None:
    """Why the class-level queryset may not be the one served: a ``get_queryset`` here or
    in a base class defined in this file, or a base class defined elsewhere."""
    if "get_queryset" in info.methods:
        return "get_queryset overrides it"
    if depth > 10:
        return None
    for base in info.bases:
        simple = base.split(".")[-1]
        if base in w.ctx.classes:
            reason = overridden(w, w.ctx.classes[base], depth + 1)
            if reason:
                return reason
        elif simple not in KNOWN_BASES:
            return f"base class {simple} may override get_queryset"
    return None


def base_overrides(w, info, depth: int = 0) -> str | None:
    """Like :func:`overridden`, for the bases only: ``super().get_queryset()``."""
    for base in info.bases:
        simple = base.split(".")[-1]
        if base in w.ctx.classes and depth < 10:
            reason = overridden(w, w.ctx.classes[base], depth + 1)
            if reason:
                return reason
        elif base not in w.ctx.classes and simple not in KNOWN_BASES:
            return f"base class {simple} may override get_queryset"
    return None


def _generic_bases(w, info, depth: int = 0) -> set[str]:
    out = set()
    for base in info.bases:
        simple = base.split(".")[-1]
        out.add(simple)
        if base in w.ctx.classes and depth < 10:
            out |= _generic_bases(w, w.ctx.classes[base], depth + 1)
    return out


def _model_attr(w, frame, small: cst.Assign) -> None:
    info = frame.cls
    bases = _generic_bases(w, info)
    lookup = bool(bases & LOOKUP_VIEWS)
    if not (lookup or bases & LIST_VIEWS) or "queryset" in info.attrs or overridden(w, info):
        return
    if lookup and "get_object" in info.methods:
        return
    rec = w.new_record("django", small.value.value, small, frame)
    rec.code_node = small
    rec.touched = True
    rec.use("read")
    if lookup:
        rec.lookup, rec.kind = True, "lookup"
