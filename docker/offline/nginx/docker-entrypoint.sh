#!/bin/sh
# A small version of the official nginx image's entrypoint.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
    if [ -d /docker-entrypoint.d ]; then
        for f in /docker-entrypoint.d/*; do
            [ -e "$f" ] || continue
            case "$f" in
                *.envsh) [ -x "$f" ] && . "$f" ;;
                *.sh) [ -x "$f" ] && "$f" ;;
            esac
        done
    fi
    template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    filter="${NGINX_ENVSUBST_FILTER:-}"
    if [ -d "$template_dir" ]; then
        defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))
        find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
            relative_path="${template#"$template_dir/"}"
            output_path="$output_dir/${relative_path%"$suffix"}"
            mkdir -p "$(dirname "$output_path")"
            envsubst "$defined_envs" < "$template" > "$output_path"
        done
    fi
fi
exec "$@"
